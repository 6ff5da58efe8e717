"""Reports slice by inbox: two inboxes of one channel count apart, the widget's conversations
count in the widget's inbox, the same after a full rebuild; a bad `inbox` is a 400 in the error
shape. The widget and email are channels of the registry, without webhooks."""

import re
from datetime import timedelta

import pytest
from celery import current_app
from django.core.management import call_command
from django.utils import timezone

from conversations.events import publish_pending_events
from conversations.models import Conversation, Inbox
from conversations.services import Author, conversation_start, home_inbox, message_post
from inboxes import services
from inboxes.registry import Inbound, channels, plugin_for, webhook_channels
from reports.export import report_csv
from reports.models import MetricFact
from reports.services import process_new_events
from tests.reports.test_reports import snapshot

WHATSAPP = {"phone_number_id": "1", "access_token": "t", "app_secret": "a", "verify_token": "v"}


def period() -> dict[str, str]:
    now = timezone.now()
    return {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }


def by_inbox(client, inbox: int, **filters) -> tuple[int, int, int]:
    """(created, first responses, open now) of one inbox."""
    answer = client.get("/api/v1/reports/summary", {**period(), "inbox": inbox, **filters})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    return (
        body["conversations"]["created"],
        body["first_response_time"]["count"],
        body["conversations"]["open_now"],
    )


@pytest.mark.django_db(transaction=True)  # the rebuild runs outside a transaction
def test_two_inboxes_of_one_channel_and_the_widget_count_apart_before_and_after_a_rebuild(
    logged_in, make_agent, make_customer, support
):
    agent = make_agent(teams=[support], is_superuser=True)
    shop, _ = services.inbox_create(channel="whatsapp", name="Shop", channel_settings=WHATSAPP)
    care, _ = services.inbox_create(channel="whatsapp", name="Care", channel_settings=WHATSAPP)
    services.receive_message(inbox=shop, inbound=Inbound("90555", "Ece", "Hello?", "wamid.1"))
    services.receive_message(inbox=care, inbound=Inbound("90556", "Can", "Hi?", "wamid.2"))
    answered = Conversation.objects.get(inbox=shop)
    widget, _ = conversation_start(customer=make_customer(), body="Hey", client_id="w")
    for number, conversation in enumerate((answered, widget)):
        message_post(
            conversation=conversation,
            author=Author.of_agent(agent),
            body="Hi!",
            client_id=f"r{number}",
        )
    publish_pending_events()
    process_new_events()
    client = logged_in(agent)
    web = home_inbox("web").pk
    assert widget.inbox_id == web

    def report() -> dict[str, tuple[int, int, int]]:
        return {
            "shop": by_inbox(client, shop.pk),
            "care": by_inbox(client, care.pk),
            "web": by_inbox(client, web),
            "shop, whatsapp": by_inbox(client, shop.pk, channel="whatsapp"),
            "shop, web": by_inbox(client, shop.pk, channel="web"),
        }

    incremental = report()
    call_command("rebuild_reports")
    rebuilt = report()

    expected = {
        "shop": (1, 1, 1),
        "care": (1, 0, 1),
        "web": (1, 1, 1),
        "shop, whatsapp": (1, 1, 1),
        "shop, web": (0, 0, 0),  # both filters apply
    }
    assert incremental == rebuilt == expected
    series = client.get(
        "/api/v1/reports/timeseries",
        {**period(), "inbox": care.pk, "metric": "created", "interval": "hour"},
    )
    assert series.status_code == 200
    assert sum(point["count"] for point in series.json()["points"]) == 1
    csv = report_csv({**period(), "tz": "UTC", "inbox": shop.pk})
    assert "Inbox,Shop" in csv and "Conversations created,1," in csv


@pytest.fixture
def tasks_inline():
    """Celery tasks run where they are queued (the refiling task, here)."""
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = eager


@pytest.mark.django_db(transaction=True)
def test_a_deleted_inboxs_numbers_move_to_no_inbox_as_a_rebuild_files_them(tasks_inline):
    shop, _ = services.inbox_create(channel="whatsapp", name="Shop", channel_settings=WHATSAPP)
    services.receive_message(inbox=shop, inbound=Inbound("90555", "Ece", "Hello?", "wamid.1"))
    publish_pending_events()
    process_new_events()
    assert MetricFact.objects.filter(inbox_id=shop.pk).count() == 2  # created, message in

    shop.delete()  # no event: the reports hear it from the deletion itself

    incremental = snapshot()
    assert {fact[9] for fact in incremental[0]} == {0}
    call_command("rebuild_reports")
    assert snapshot() == incremental


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "99999999", "-1", "1.5", "9" * 30])
def test_an_unknown_inbox_is_refused_in_the_error_shape(admin_api, value):
    for path, extra in (("summary", {}), ("timeseries", {"metric": "created"}), ("agents", {})):
        answer = admin_api.get(f"/api/v1/reports/{path}", {"inbox": value, **extra})
        assert answer.status_code == 400, (path, answer.content)
        assert answer.json()["error"]["fields"]["inbox"] == ["Give the id of an existing inbox."]
    export = admin_api.post("/api/v1/reports/exports", {"inbox": value}, format="json")
    assert export.status_code == 400
    assert "inbox" in export.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_widget_and_email_are_channels_with_one_inbox_each(admin_api, start_conversation):
    assert {"web", "email", "api", "whatsapp", "telegram"} <= set(channels())
    assert "web" not in webhook_channels() and "email" not in webhook_channels()
    web, email = start_conversation(channel="web"), start_conversation(channel="email")
    assert web.inbox == start_conversation(channel="web").inbox == home_inbox("web")
    assert email.inbox == home_inbox("email") != web.inbox
    assert Inbox.objects.filter(channel__in=["web", "email"]).count() == 2
    # nobody makes another: neither the API nor the admin offers them
    refused = admin_api.post("/api/v1/inboxes", {"channel": "web", "name": "x"}, format="json")
    assert refused.status_code == 400 and "channel" in refused.json()["error"]["fields"]
    listed = admin_api.get("/api/v1/inboxes").json()["results"]
    assert all(inbox["channel"] not in ("web", "email") for inbox in listed)
    form = admin_api.get("/admin/conversations/inbox/add/").content.decode()
    assert 'value="whatsapp"' in form and 'value="web"' not in form


@pytest.mark.django_db
def test_the_reports_page_offers_every_inbox(client, admin, start_conversation):
    start_conversation(channel="web")
    Inbox.objects.create(channel="api", name="<b>Shop</b> API")
    twins = [Inbox.objects.create(channel="telegram", name="Lale bot") for _ in range(2)]
    Inbox.objects.create(channel="whatsapp", name="Lale bot")
    client.force_login(admin)
    html = client.get("/reports/").content.decode()
    picker = html[html.index('<select name="inbox">') :]
    picker = picker[: picker.index("</select>")]
    assert ">All inboxes</option>" in picker
    assert f'value="{home_inbox("web").pk}">Web widget</option>' in picker  # its channel's name
    assert "&lt;b&gt;Shop&lt;/b&gt; API (API)</option>" in picker  # escaped
    # Names need not be unique: the channel, then the id, tell them apart.
    assert ">Lale bot (WhatsApp)</option>" in picker
    for twin in twins:
        assert f'value="{twin.pk}">Lale bot (Telegram) #{twin.pk}</option>' in picker


@pytest.mark.django_db
def test_the_workspace_lists_every_registered_channel_with_its_plugins_icon(
    client, admin, start_conversation
):
    start_conversation(channel="phone")  # an import's own channel: no plug-in draws it
    client.force_login(admin)
    html = client.get("/agent/").content.decode()
    select = html[html.index('<select name="channel"') :]
    options = re.findall(
        r'<option value="(\w*)"( data-icon="[^"]+")?>', select[: select.index("</select>")]
    )
    assert [value for value, _icon in options] == [
        "",
        "web",
        "email",
        "api",
        "whatsapp",
        "messenger",
        "instagram",
        "telegram",
        "phone",
    ]
    assert f'data-icon="{plugin_for("email").icon}"' in select
    assert all(icon for value, icon in options if value not in ("", "phone"))
    assert dict(options)["phone"] == ""
