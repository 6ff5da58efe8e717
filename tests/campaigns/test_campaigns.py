"""Campaigns (docs/campaigns.md): the admins' API and form, which visitors are invited, the
invitation shown and answered through the widget API, and the campaign figures of the
reports, the same after rebuild_reports."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Presence
from campaigns.admin import CampaignForm
from campaigns.models import Campaign, CampaignShown, UrlRule
from campaigns.services import campaign_mark_shown
from conversations.events import publish_pending_events
from conversations.models import AuthorKind, Conversation, Customer
from conversations.seams import Invitation
from conversations.services import Author, conversation_start, message_post
from reports.selectors import Slice, summary
from reports.services import process_new_events
from tests.reports.test_reports import snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

CAMPAIGNS = "/api/v1/campaigns"
WIDGET_CAMPAIGNS = "/api/v1/widget/campaigns"
SHOP = "https://shop.example.com/checkout/cart"


def new_widget(language: str = "en") -> tuple[APIClient, Customer]:
    response = APIClient().post(
        "/api/v1/widget/sessions", {"name": "Ayşe"}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 201, response.content
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {response.json()['customer_token']}",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    return client, Customer.objects.get(pk=response.json()["customer"]["id"])


def online(user) -> None:
    user.agent.presence = Presence.ONLINE
    user.agent.save()


def make_campaign(team, **fields) -> Campaign:
    values = {
        "message": "Need help with your order?",
        "url_kind": UrlRule.CONTAINS,
        "url_value": "/checkout",
        "delay_seconds": 5,
        **fields,
    }
    return Campaign.objects.create(team=team, **values)


def invitations(client: APIClient, url: str = SHOP, **params) -> list[dict]:
    response = client.get(WIDGET_CAMPAIGNS, {"url": url, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- The admins' API -------------------------------------------------------------------------

NEW_CAMPAIGN = {
    "message": "Questions about checkout? We are here.",
    "team": "Support",
    "url_rule": {"kind": "starts_with", "value": "https://shop.example.com/checkout"},
    "delay_seconds": 10,
    "returning": None,
    "enabled": True,
}


def test_an_admin_creates_reads_changes_and_deletes_a_campaign(logged_in, staff, support, alice):
    support.members.add(staff)
    admin = logged_in(staff)
    created = admin.post(CAMPAIGNS, {**NEW_CAMPAIGN, "sender": alice.email}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["team"] == {"id": support.pk, "name": "Support"}
    assert body["sender"] == {"id": alice.pk, "name": "Alice"}
    assert body["url_rule"] == NEW_CAMPAIGN["url_rule"]
    url = f"{CAMPAIGNS}/{body['id']}"
    changed = admin.patch(url, {"enabled": False, "languages": ["tr"]}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["enabled"], changed.json()["languages"]) == (False, ["tr"])
    assert admin.get(CAMPAIGNS).json()["results"][0]["id"] == body["id"]
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404


def test_agents_read_campaigns_but_only_admins_write_them(alice_client, support):
    campaign = make_campaign(support)
    assert alice_client.get(f"{CAMPAIGNS}/{campaign.pk}").json()["message"] == campaign.message
    refused = alice_client.post(CAMPAIGNS, NEW_CAMPAIGN, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"]
    assert alice_client.delete(f"{CAMPAIGNS}/{campaign.pk}").status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_regex_that_does_not_compile_is_refused_with_the_error_shape(logged_in, staff, support):
    bad = {**NEW_CAMPAIGN, "url_rule": {"kind": "regex", "value": "/checkout/(cart"}}
    response = logged_in(staff).post(CAMPAIGNS, bad, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "does not compile" in error["fields"]["url_rule"][0]
    assert not Campaign.objects.exists()


def test_a_sender_outside_the_team_and_bad_fields_are_refused(
    logged_in, staff, support, billing, make_agent
):
    outsider = make_agent(teams=[billing])
    admin = logged_in(staff)
    response = admin.post(CAMPAIGNS, {**NEW_CAMPAIGN, "sender": outsider.pk}, format="json")
    assert response.status_code == 400
    assert "sender" in response.json()["error"]["fields"]
    for field, value in (("delay_seconds", -1), ("enabled", "yes"), ("team", "Nobody")):
        response = admin.post(CAMPAIGNS, {**NEW_CAMPAIGN, field: value}, format="json")
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["error"]["fields"]


def test_the_admin_form_refuses_a_regex_that_does_not_compile(support):
    data = {
        "message": "Hello",
        "team": support.pk,
        "url_kind": "regex",
        "url_value": "[unclosed",
        "delay_seconds": 3,
        "enabled": True,
        "languages": ["en"],
    }
    form = CampaignForm(data=data)
    assert not form.is_valid()
    assert "does not compile" in form.errors["url_value"][0]
    form = CampaignForm(data={**data, "url_value": r"^https://shop\.example\.com/(cart|checkout)"})
    assert form.is_valid(), form.errors
    assert form.save().languages == ["en"]


# --- Who is invited --------------------------------------------------------------------------


def test_an_invitation_matches_its_url_rule(support, alice):
    online(alice)
    make_campaign(support, url_kind=UrlRule.CONTAINS, url_value="/cart")
    make_campaign(support, url_kind=UrlRule.STARTS_WITH, url_value="https://shop.example.com/p/")
    make_campaign(support, url_kind=UrlRule.REGEX, url_value=r"/p/\d+$", message="A product!")
    client, _customer = new_widget()
    assert [c["message"] for c in invitations(client, "https://shop.example.com/p/12")] == [
        "Need help with your order?",
        "A product!",
    ]
    assert len(invitations(client, "https://shop.example.com/cart")) == 1
    assert invitations(client, "https://elsewhere.example.com/") == []


def test_the_answer_names_the_sender_agent_or_the_team(support, alice):
    online(alice)
    make_campaign(support, sender=alice)
    client, _customer = new_widget()
    (invitation,) = invitations(client)
    assert invitation["sender"] == {"name": "Alice"}
    assert invitation["delay_seconds"] == 5
    Campaign.objects.update(sender=None)
    assert invitations(client)[0]["sender"] == {"name": "Support"}


def test_nobody_is_invited_when_nobody_can_take_a_chat(support, alice):
    make_campaign(support)
    client, _customer = new_widget()
    assert invitations(client) == []  # Alice is offline
    online(alice)
    assert len(invitations(client)) == 1
    alice.agent.capacity = 0
    alice.agent.save()
    assert invitations(client) == []


def test_disabled_campaigns_other_languages_and_other_visitors_are_not_invited(support, alice):
    online(alice)
    make_campaign(support, enabled=False)
    make_campaign(support, languages=["tr"], message="Yardım ister misiniz?")
    make_campaign(support, returning=True, message="Welcome back!")
    english, customer = new_widget("en")
    assert invitations(english) == []
    assert [c["message"] for c in invitations(english, returning="true")] == ["Welcome back!"]
    turkish, _ = new_widget("tr")
    assert [c["message"] for c in invitations(turkish)] == ["Yardım ister misiniz?"]
    # Without `returning`, a visitor whose first session is over half an hour old returns.
    Customer.objects.filter(pk=customer.pk).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )
    assert [c["message"] for c in invitations(english)] == ["Welcome back!"]


def test_active_hours_are_in_the_teams_time_zone(support, alice):
    online(alice)
    support.time_zone = "Europe/Istanbul"  # UTC+3
    support.save()
    now = timezone.now().astimezone(UTC)
    local = (now + timedelta(hours=3)).time()
    an_hour = (datetime.combine(now.date(), local) + timedelta(hours=1)).time()
    before = (datetime.combine(now.date(), local) - timedelta(hours=1)).time()
    make_campaign(support, active_from=before, active_until=an_hour, message="now")
    make_campaign(support, active_from=an_hour, active_until=before, message="not now")
    client, _customer = new_widget()
    assert [c["message"] for c in invitations(client)] == ["now"]


def test_bad_queries_get_the_error_shape(support):
    client, _customer = new_widget()
    for params in ({}, {"url": SHOP, "returning": "maybe"}, {"url": "x" * 2001}):
        response = client.get(WIDGET_CAMPAIGNS, params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid"
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert stale.get(WIDGET_CAMPAIGNS, {"url": SHOP}).status_code == 401


# --- Shown and answered ----------------------------------------------------------------------


def test_an_invitation_shown_counts_once_a_day_per_visitor(support):
    campaign = make_campaign(support)
    client, customer = new_widget()
    url = f"{WIDGET_CAMPAIGNS}/{campaign.pk}/shown"
    assert client.post(url).status_code == 201
    for _ in range(3):
        assert client.post(url).status_code == 200
    assert CampaignShown.objects.get(campaign=campaign).visitor == f"customer:{customer.pk}"
    tomorrow = timezone.now() + timedelta(days=1)
    visitor = f"customer:{customer.pk}"
    assert campaign_mark_shown(campaign=campaign, visitor=visitor, at=tomorrow)[1] is True
    Campaign.objects.update(enabled=False)
    assert client.post(url).status_code == 404


def test_a_visitor_without_a_session_counts_once_a_day_by_address(support):
    campaign = make_campaign(support)
    url = f"{WIDGET_CAMPAIGNS}/{campaign.pk}/shown"
    here, there = APIClient(REMOTE_ADDR="203.0.113.5"), APIClient(REMOTE_ADDR="203.0.113.6")
    assert [here.post(url).status_code, here.post(url).status_code] == [201, 200]
    assert there.post(url).status_code == 201
    visitors = list(CampaignShown.objects.values_list("visitor", flat=True))
    assert len(set(visitors)) == 2
    assert not any("203.0.113" in visitor for visitor in visitors)  # hashed, not kept


def test_a_visitor_without_a_session_is_invited_too(support, alice):
    online(alice)
    make_campaign(support, returning=False)
    anonymous = APIClient()
    assert len(invitations(anonymous)) == 1  # no session: a new visitor
    assert invitations(anonymous, returning="true") == []


def test_answering_starts_the_conversation_with_the_invitation(support, billing, alice):
    online(alice)
    campaign = make_campaign(billing, sender=None, message="Questions about your bill?")
    client, customer = new_widget()
    response = client.post(
        "/api/v1/widget/conversations",
        {
            "body": "Yes, why so high?",
            "client_id": "c1",
            "campaign": campaign.pk,
            "team": "Support",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get(pk=response.json()["id"])
    assert conversation.team == billing  # the campaign's team, not the widget's
    messages = client.get(f"/api/v1/widget/conversations/{conversation.pk}/messages").json()
    authors_and_bodies = [(m["author"]["name"], m["body"]) for m in messages["results"]]
    assert authors_and_bodies == [
        ("Billing", "Questions about your bill?"),
        ("Ayşe", "Yes, why so high?"),
    ]
    assert messages["results"][0]["author"]["kind"] == "agent"
    assert conversation.assignee is None  # the invitation claims nobody: routing decides


def test_an_agent_sender_writes_the_invitation_and_routing_still_decides(
    support, alice, make_agent
):
    bob = make_agent("bob@example.com", teams=[support], first_name="Bob")
    online(bob)
    campaign = make_campaign(support, sender=alice)
    client, _customer = new_widget()
    response = client.post(
        "/api/v1/widget/conversations",
        {"body": "yes please", "client_id": "c1", "campaign": campaign.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    publish_pending_events()
    conversation = Conversation.objects.get(pk=response.json()["id"])
    first = conversation.messages.order_by("created_at", "pk").first()
    assert (first.author_kind, first.agent, first.body) == (
        AuthorKind.AGENT,
        alice,
        campaign.message,
    )
    assert conversation.assignee == bob  # Alice is offline: the online Bob takes it


def test_an_unknown_or_disabled_campaign_is_refused(support):
    campaign = make_campaign(support, enabled=False)
    client, _customer = new_widget()
    for ref in (campaign.pk, 999999, "x"):
        response = client.post(
            "/api/v1/widget/conversations",
            {"body": "hi", "client_id": f"c{ref}", "campaign": ref},
            format="json",
        )
        assert response.status_code == 400, ref
        assert "campaign" in response.json()["error"]["fields"]
    assert not Conversation.objects.exists()


# --- Reports ---------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def campaign_history(support, billing, alice, make_agent, make_customer):
    """Support's campaign (sender Alice): shown to three visitors, two answer, Alice replies
    to one. Billing's (the team): shown to one, who answers; nobody replies. One ordinary
    conversation. Returns (support_campaign, billing_campaign)."""
    ours = make_campaign(support, sender=alice)
    theirs = make_campaign(billing)
    customers = [make_customer() for _ in range(4)]
    for n, customer in enumerate(customers[:3]):
        campaign_mark_shown(campaign=ours, visitor=f"customer:{customer.pk}", at=at(n))
    campaign_mark_shown(campaign=theirs, visitor="ip:somewhere", at=at(3))

    def answer(campaign, customer, minute):
        conversation, _ = conversation_start(
            customer=customer,
            body="yes",
            client_id=f"a{customer.pk}",
            at=at(minute),
            invitation=Invitation(campaign.pk, campaign.team, campaign.message, campaign.sender),
        )
        return conversation

    replied = answer(ours, customers[0], 5)
    answer(ours, customers[1], 6)
    answer(theirs, customers[3], 7)
    message_post(
        conversation=replied, author=Author.of_agent(alice), body="hi", client_id="r", at=at(9)
    )
    conversation_start(customer=make_customer(), body="plain", client_id="p", at=at(8))
    publish_pending_events()
    while process_new_events():
        pass
    return ours, theirs


def test_the_summary_counts_shown_answered_and_conversations(campaign_history, support, alice):
    report = summary(at(-60), at(60), Slice())
    assert report["campaigns"] == {"shown": 4, "answered": 3, "conversations": 1}
    assert report["conversations"]["created"] == 4
    assert summary(at(-60), at(60), Slice(team=support.pk))["campaigns"] == {
        "shown": 3,
        "answered": 2,
        "conversations": 1,
    }
    assert summary(at(-60), at(60), Slice(agent=alice.pk))["campaigns"]["answered"] == 2
    assert summary(at(-60), at(60), Slice(channel="email"))["campaigns"] == {
        "shown": 0,
        "answered": 0,
        "conversations": 0,
    }
    # Each figure falls when it happens: the answers by minute 7, the reply at minute 9.
    assert summary(at(4), at(8), Slice())["campaigns"] == {
        "shown": 0,
        "answered": 3,
        "conversations": 0,
    }


def test_the_invitation_is_no_first_response(campaign_history, support):
    report = summary(at(-60), at(60), Slice(team=support.pk))
    assert report["first_response_time"]["count"] == 1
    assert report["first_response_time"]["mean"] == 4 * 60.0  # the reply at 9, the answer at 5


def test_rebuild_reports_gives_the_same_campaign_figures(campaign_history, support):
    before = snapshot()
    slices = (Slice(), Slice(team=support.pk))
    reports = [summary(at(-60), at(60), slice_)["campaigns"] for slice_ in slices]
    call_command("rebuild_reports", stdout=open("/dev/null", "w"))
    assert snapshot() == before
    assert [summary(at(-60), at(60), slice_)["campaigns"] for slice_ in slices] == reports
    assert any(fact[2] == "campaign_answered" for fact in before[0])


def test_the_summary_api_has_the_campaign_figures(campaign_history, alice_client):
    response = alice_client.get(
        "/api/v1/reports/summary", {"since": at(-60).isoformat(), "until": at(60).isoformat()}
    )
    assert response.status_code == 200, response.content
    assert response.json()["campaigns"] == {"shown": 4, "answered": 3, "conversations": 1}


def test_the_widget_loader_says_whether_any_campaign_runs(client, support):
    def invitations_flag() -> str:
        script = client.get("/static/helpdesk/widget.js").content.decode()
        return script.split('"invitations": ')[1][:5]

    assert invitations_flag() == "false"  # a site without campaigns: the widget asks nothing
    campaign = make_campaign(support)
    assert invitations_flag().startswith("true")
    Campaign.objects.filter(pk=campaign.pk).update(enabled=False)
    assert invitations_flag() == "false"


def test_the_csv_export_has_the_campaign_figures(campaign_history):
    from reports.export import report_csv
    from tests.reports.test_export import csv_rows, section

    params = {"since": at(-60).isoformat(), "until": at(60).isoformat(), "tz": "UTC"}
    rows = csv_rows(report_csv(params).encode())
    summary_rows = {row[0]: row[1:] for row in section(rows, "Summary")[1:]}
    assert summary_rows["Campaign invitations shown"][:2] == ["4", "0"]
    assert summary_rows["Campaign invitations answered"][:2] == ["3", "0"]
    assert summary_rows["Conversations from campaign invitations"][:2] == ["1", "0"]
    assert summary_rows["Questions deflected by suggested articles"][:2] == ["0", "0"]


def test_the_admin_forms_returning_choice_says_everyone_not_unknown(support):
    """An empty "returning" invites everyone: the admin's select said "Unknown"."""
    form = CampaignForm()
    rendered = str(form["returning"])
    assert "Everyone" in rendered and "Unknown" not in rendered
    data = {"message": "Hi", "team": support.pk, "url_kind": "contains", "url_value": "/"}
    for choice, stored in [("unknown", None), ("true", True), ("false", False)]:
        form = CampaignForm(data={**data, "delay_seconds": 3, "returning": choice})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["returning"] is stored
