"""Macros: a reply and actions applied in one step, all or nothing (agents/macros.py), their
API (who may use, write and apply which macro) and the demo set."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agents.macros import DEMO_MACROS, demo_macros_ensure, macro_apply
from agents.models import Macro, MacroAssign
from agents.routing import AtCapacity
from conversations.errors import InvalidInput, NotAllowed
from conversations.models import ConversationEvent, EventType, Label, Message, Status
from conversations.services import conversation_assign, conversation_resolve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

MACROS = "/api/v1/macros"


def apply_url(conversation, macro) -> str:
    return f"/api/v1/conversations/{conversation.pk}/macros/{macro.pk}"


@pytest.fixture
def bob(make_agent, support, billing):
    """A colleague in Support and Billing, with room for one conversation."""
    return make_agent("bob@example.com", teams=[support, billing], first_name="Bob", capacity=1)


@pytest.fixture
def conversation(start_conversation, make_customer, support):
    conversation = start_conversation(customer=make_customer("Deniz Kaya"), team=support)
    conversation.labels.set([Label.objects.create(name="new"), Label.objects.create(name="web")])
    return conversation


@pytest.fixture
def escalate(billing, bob):
    """Every action at once: a reply with placeholders, status, labels, team, priority and
    assignee."""
    return Macro.objects.create(
        name="Escalate to billing",
        body="Hi {{customer.first_name}}, {{agent.first_name}} here: Billing takes over.",
        status=Status.PENDING,
        add_labels=["billing", "VIP"],
        remove_labels=["new"],
        move_to_team=billing,
        priority="high",
        assign=MacroAssign.AGENT,
        assign_to=bob,
    )


def labels_of(conversation) -> list[str]:
    return sorted(conversation.labels.values_list("name", flat=True))


# --- The model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "closed"}, "status"),  # an unknown status
        ({"status": Status.SNOOZED}, "snooze_minutes"),  # a snooze needs its length
        ({"snooze_minutes": 60}, "snooze_minutes"),  # only a snooze lasts
        ({"assign": MacroAssign.AGENT}, "assign_to"),
        ({"priority": "asap"}, "priority"),
        ({"add_labels": ["two words"]}, "add_labels"),
        ({"remove_labels": "vip"}, "remove_labels"),
    ],
)
def test_a_macro_with_an_unknown_action_value_is_refused(fields, field):
    with pytest.raises(ValidationError) as refused:
        Macro(name="Broken", **fields).full_clean()
    assert field in refused.value.message_dict


def test_a_macro_may_name_labels_nobody_used_yet(alice):
    Macro(name="Fine", add_labels=["brand-new", "çok-yeni"], owner=alice).full_clean()
    assert not Label.objects.filter(name="brand-new").exists()


# --- Applying -------------------------------------------------------------------------------------


def test_a_macro_applies_every_action_through_the_services(alice, bob, escalate, conversation):
    before = ConversationEvent.objects.filter(conversation=conversation).count()
    changed, message = macro_apply(macro=escalate, conversation=conversation, by=alice)
    assert message.body == "Hi Deniz, Alice here: Billing takes over."
    assert not message.private and message.agent == alice
    assert changed.status == Status.PENDING
    assert changed.team.name == "Billing"
    assert changed.priority == "high"
    assert changed.assignee == bob
    assert labels_of(changed) == ["billing", "vip", "web"]
    # Each change is an event of the log (live updates and reports read them).
    types = list(
        ConversationEvent.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("type", flat=True)[before:]
    )
    assert EventType.MESSAGE_CREATED in types and EventType.CONVERSATION_ASSIGNED in types
    assert types.count(EventType.CONVERSATION_UPDATED) >= 2  # team/priority/labels; status


def test_a_refused_action_applies_nothing(alice, bob, escalate, conversation, start_conversation):
    conversation_assign(conversation=start_conversation(), assignee=bob)  # Bob is full
    messages = Message.objects.count()
    events = ConversationEvent.objects.count()
    with pytest.raises(AtCapacity) as refused:
        macro_apply(macro=escalate, conversation=conversation, by=alice)
    assert set(refused.value.fields) == {"assignee"}
    assert "assignee" in refused.value.message and "capacity" in refused.value.message
    conversation.refresh_from_db()
    assert (conversation.status, conversation.team.name) == (Status.OPEN, "Support")
    assert (conversation.priority, conversation.assignee) == ("normal", None)
    assert labels_of(conversation) == ["new", "web"]
    assert (Message.objects.count(), ConversationEvent.objects.count()) == (messages, events)


def test_a_refused_status_after_the_reply_rolls_the_reply_back(alice, conversation):
    """Pending on a resolved conversation is refused by the lifecycle: the reply, posted
    before, goes too."""
    conversation_resolve(conversation=conversation, by=alice)
    ask = Macro.objects.create(name="Ask", body="Your order number?", status=Status.PENDING)
    messages = Message.objects.count()
    with pytest.raises(NotAllowed) as refused:
        macro_apply(macro=ask, conversation=conversation, by=alice)
    assert set(refused.value.fields) == {"status"}
    assert Message.objects.count() == messages
    conversation.refresh_from_db()
    assert conversation.status == Status.RESOLVED


def test_reply_and_resolve_assign_to_me_and_a_private_note(alice, conversation):
    resolve = Macro.objects.create(
        name="Done", body="Checked with {{customer.name}}.", private=True, status="resolved"
    )
    resolve.assign = MacroAssign.ME
    resolve.save()
    changed, message = macro_apply(macro=resolve, conversation=conversation, by=alice)
    assert message.private and message.body == "Checked with Deniz Kaya."
    assert (changed.status, changed.assignee) == (Status.RESOLVED, alice)


def test_a_snooze_lasts_from_when_it_is_applied_and_nobody_unassigns(alice, conversation):
    conversation_assign(conversation=conversation, assignee=alice)
    later = Macro.objects.create(
        name="Later", status=Status.SNOOZED, snooze_minutes=90, assign=MacroAssign.NOBODY
    )
    changed, message = macro_apply(macro=later, conversation=conversation, by=alice)
    assert message is None
    assert changed.status == Status.SNOOZED and changed.assignee is None
    expected = timezone.now() + timedelta(minutes=90)
    assert abs(changed.snoozed_until - expected) < timedelta(seconds=30)


# --- The API: using macros ------------------------------------------------------------------------


@pytest.fixture
def macros(alice, bob, support, billing):
    """One of each scope: Alice's own, Bob's own, Support's, Billing's, and a global one."""
    return {
        "mine": Macro.objects.create(name="Mine", owner=alice, body="Hi {{customer.name}}"),
        "bobs": Macro.objects.create(name="Bob's", owner=bob, priority="low"),
        "support": Macro.objects.create(name="Support's", team=support, priority="high"),
        "billing": Macro.objects.create(name="Billing's", team=billing, priority="urgent"),
        "global": Macro.objects.create(name="Everyone's", status=Status.PENDING),
    }


def test_an_agent_lists_their_own_their_teams_and_the_global_macros(
    alice_client, macros, conversation
):
    response = alice_client.get(MACROS, {"conversation": conversation.pk})
    assert response.status_code == 200
    results = {item["name"]: item for item in response.json()["results"]}
    assert set(results) == {"Mine", "Support's", "Everyone's"}
    mine = results["Mine"]
    assert mine["scope"] == "personal" and mine["rendered"] == "Hi Deniz Kaya"
    assert mine["editable"] and results["Support's"]["editable"]
    assert not results["Everyone's"]["editable"]
    assert results["Everyone's"]["status"] == "pending" and results["Mine"]["status"] is None


def test_an_agent_cannot_apply_another_agents_personal_macro(alice_client, macros, conversation):
    for name in ("bobs", "billing"):
        response = alice_client.post(apply_url(conversation, macros[name]), {}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert alice_client.get(f"{MACROS}/{macros['bobs'].pk}").status_code == 404
    conversation.refresh_from_db()
    assert conversation.priority == "normal"


def test_an_agent_cannot_apply_a_macro_to_a_conversation_they_cannot_read(
    logged_in, make_agent, make_team, macros, conversation
):
    outsider = make_agent(teams=[make_team("Sales")])
    response = logged_in(outsider).post(apply_url(conversation, macros["global"]), {})
    assert response.status_code == 404
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN


def test_applying_answers_the_conversation_and_the_reply(alice_client, macros, conversation):
    url = apply_url(conversation, macros["mine"])
    response = alice_client.post(url, {"client_id": "macro-1"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["conversation"]["id"] == conversation.pk
    assert data["message"]["body"] == "Hi Deniz Kaya"
    assert data["message"]["client_id"] == "macro-1"
    # A retried request posts the reply once.
    again = alice_client.post(url, {"client_id": "macro-1"}, format="json")
    assert again.json()["message"]["id"] == data["message"]["id"]
    assert conversation.messages.filter(body="Hi Deniz Kaya").count() == 1


def test_a_refusal_answers_the_error_shape_naming_the_action(
    alice_client, bob, escalate, conversation, start_conversation
):
    conversation_assign(conversation=start_conversation(), assignee=bob)
    response = alice_client.post(apply_url(conversation, escalate), {}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "at_capacity" and set(error["fields"]) == {"assignee"}
    conversation.refresh_from_db()
    assert conversation.team.name == "Support" and conversation.messages.count() == 1


@pytest.mark.parametrize("bad", ["0", "99999999999999999999", "abc"])
def test_bad_ids_answer_the_error_shape(alice_client, macros, conversation, bad):
    for path in (
        f"/api/v1/conversations/{conversation.pk}/macros/{bad}",
        f"/api/v1/conversations/{bad}/macros/{macros['mine'].pk}",
        f"{MACROS}/{bad}",
    ):
        response = (
            alice_client.post(path, {}) if "conversations" in path else alice_client.get(path)
        )
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "not_found"
    response = alice_client.get(MACROS, {"conversation": bad})
    assert response.status_code in (400, 404)
    assert "error" in response.json()


# --- The API: writing macros ----------------------------------------------------------------------


def test_an_agent_creates_a_personal_macro_with_every_action(alice_client, alice, bob):
    response = alice_client.post(
        MACROS,
        {
            "name": "Escalate",
            "body": "Over to Billing.",
            "private": True,
            "status": "snoozed",
            "snooze_minutes": 30,
            "add_labels": ["billing"],
            "remove_labels": ["new"],
            "move_to_team": "Billing",
            "priority": "urgent",
            "assign": "agent",
            "assign_to": "bob@example.com",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["scope"] == "personal" and data["owner"]["id"] == alice.pk
    assert data["move_to_team"]["name"] == "Billing"
    assert data["assign_to"] == {"id": bob.pk, "name": "Bob"}
    assert Macro.objects.get(pk=data["id"]).owner == alice


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "status": "closed"}, "status"),
        ({"name": "X", "status": "snoozed"}, "snooze_minutes"),
        ({"name": "X", "assign": "agent"}, "assign_to"),
        ({"name": "X", "assign": "agent", "assign_to": "nobody@example.com"}, "assign_to"),
        ({"name": "X", "move_to_team": "No such team"}, "move_to_team"),
        ({"name": "X", "scope": "team"}, "team"),
        ({"name": "X", "scope": "team", "team": "Billing"}, "team"),  # not Alice's team
        ({"name": "X", "scope": "global"}, "scope"),  # admins only
        ({"name": " "}, "name"),
    ],
)
def test_bad_macros_are_refused_with_the_field(alice_client, billing, body, field):
    response = alice_client.post(MACROS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Macro.objects.exists()


def test_team_members_change_their_teams_macros_admins_the_global_ones(
    alice_client, logged_in, staff, macros
):
    url = f"{MACROS}/{macros['support'].pk}"
    response = alice_client.patch(url, {"name": "Support's own", "status": None}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Support's own"
    response = alice_client.patch(f"{MACROS}/{macros['global'].pk}", {"name": "Mine now"})
    assert response.status_code == 403
    assert alice_client.delete(f"{MACROS}/{macros['global'].pk}").status_code == 403
    admin = logged_in(staff)
    assert admin.patch(f"{MACROS}/{macros['global'].pk}", {"name": "Renamed"}).status_code == 200
    assert admin.delete(f"{MACROS}/{macros['mine'].pk}").status_code == 404  # Alice's own
    assert alice_client.delete(f"{MACROS}/{macros['mine'].pk}").status_code == 204
    assert not Macro.objects.filter(pk=macros["mine"].pk).exists()
    assert Macro.objects.get(pk=macros["global"].pk).name == "Renamed"


# --- The demo -----------------------------------------------------------------------------------


def test_the_demo_macros_come_in_english_and_turkish_and_once(
    support, billing, alice, conversation
):
    assert demo_macros_ensure() == len(DEMO_MACROS)
    assert demo_macros_ensure() == 0
    names = set(Macro.objects.values_list("name", flat=True))
    assert {"Refund issued — resolve", "İade yapıldı — çöz"} <= names
    for macro in Macro.objects.all():
        macro.full_clean()
        assert macro.scope == "global"
    escalate = Macro.objects.get(name="Escalate to billing — high priority")
    assert escalate.move_to_team == billing
    changed, note = macro_apply(macro=escalate, conversation=conversation, by=alice)
    assert note.private and "Alice" in note.body
    assert (changed.team, changed.priority, changed.assignee) == (billing, "high", None)


# --- The admin ----------------------------------------------------------------------------------


def admin_form(**fields) -> dict:
    form = {"name": "Escalate", "body": "", "status": "", "priority": "", "assign": ""}
    form |= {"add_labels": "", "remove_labels": ""}
    return form | fields


def test_the_admin_edits_a_macro_with_labels_as_text(staff_client, billing, bob):
    response = staff_client.post(
        "/admin/agents/macro/add/",
        admin_form(
            add_labels="billing, brand-new",
            remove_labels="new",
            move_to_team=billing.pk,
            priority="high",
            assign="agent",
            assign_to=bob.pk,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    macro = Macro.objects.get()
    assert macro.add_labels == ["billing", "brand-new"] and macro.remove_labels == ["new"]
    assert (macro.scope, macro.assign_to) == ("global", bob)
    page = staff_client.get(f"/admin/agents/macro/{macro.pk}/change/").content.decode()
    assert 'value="billing, brand-new"' in page
    listing = staff_client.get("/admin/agents/macro/").content.decode()
    assert "Every agent" in listing and "+billing +brand-new −new" in listing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "closed"}, "Select a valid choice"),
        ({"status": "snoozed"}, "Say for how long to snooze."),
        ({"assign": "agent"}, "Choose the agent."),
        ({"add_labels": "two words"}, "Label names"),
    ],
)
def test_the_admin_refuses_a_macro_that_cannot_be_applied(staff_client, fields, message):
    response = staff_client.post("/admin/agents/macro/add/", admin_form(**fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Macro.objects.exists()


def test_a_team_macro_moves_to_another_team_of_its_member(logged_in, bob, macros, billing):
    url = f"{MACROS}/{macros['support'].pk}"
    response = logged_in(bob).patch(url, {"team": "Billing"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "team" and response.json()["team"]["name"] == "Billing"


def test_a_macro_whose_agent_left_refuses_to_assign_and_applies_nothing(
    alice, bob, escalate, conversation
):
    bob.is_active = False
    bob.save()
    with pytest.raises(InvalidInput) as refused:
        macro_apply(macro=escalate, conversation=conversation, by=alice)
    assert set(refused.value.fields) == {"assignee"}
    assert conversation.messages.count() == 1
