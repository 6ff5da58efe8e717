"""`manage.py import_history`: JSON lines replayed through the services (shared/API.md)."""

import io
import json
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent
from conversations.models import (
    Conversation,
    ConversationEvent,
    Customer,
    EventType,
    Message,
    Rating,
    Status,
    Team,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


def t(clock: str) -> str:
    """A time on 5 January 2026, e.g. t("09:00")."""
    return f"2026-01-05T{clock}:00+00:00"


def at(clock: str) -> datetime:
    return datetime.fromisoformat(t(clock))


def conversation_line(external_id: str = "c-1", **fields) -> dict:
    line = {
        "external_id": external_id,
        "channel": "web",
        "team": "Billing",
        "customer": {"external_id": "u-9", "name": "Ayşe Yılmaz", "email": "ayse@example.net"},
        "messages": [
            {"author_kind": "customer", "body": "Faturam iki kez kesilmiş.", "sent_at": t("09:00")},
            {
                "author_kind": "agent",
                "agent": "alice@example.com",
                "body": "Looking into it now.",
                "sent_at": t("09:10"),
            },
        ],
        "events": [{"type": "assigned", "agent": "alice@example.com", "at": t("09:05")}],
        "ratings": [],
    }
    line.update(fields)
    return line


def run_import(tmp_path, *lines) -> tuple[str, str]:
    """Write the lines (dicts become JSON) to a file and import it: (stdout, stderr)."""
    path = tmp_path / "history.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def history(conversation: Conversation) -> list[tuple[str, datetime]]:
    return list(conversation.events.order_by("id").values_list("type", "at"))


def test_import_keeps_original_timestamps_and_prints_counts(tmp_path):
    out, err = run_import(
        tmp_path,
        conversation_line("c-1"),
        conversation_line(
            "c-2",
            customer={"external_id": "u-10", "name": "Liam Smith"},
            messages=[{"author_kind": "customer", "body": "Hello?", "sent_at": t("11:30")}],
            events=[],
        ),
    )
    assert "created 2, skipped 0 (already imported), rejected 0" in out
    assert err == ""
    first = Conversation.objects.get(external_id="c-1")
    assert first.created_at == at("09:00")
    assert first.last_activity_at == at("09:10")
    assert first.channel == "web"
    assert first.customer.name == "Ayşe Yılmaz" and first.customer.external_id == "u-9"
    assert list(first.messages.values_list("created_at", flat=True)) == [at("09:00"), at("09:10")]
    assert first.messages.last().agent.email == "alice@example.com"
    assert first.waiting_since is None  # the agent answered
    assert history(first) == [
        (EventType.CONVERSATION_CREATED, at("09:00")),
        (EventType.MESSAGE_CREATED, at("09:00")),
        (EventType.CONVERSATION_ASSIGNED, at("09:05")),
        (EventType.MESSAGE_CREATED, at("09:10")),
    ]
    second = Conversation.objects.get(external_id="c-2")
    assert second.waiting_since == at("11:30")  # nobody answered yet
    assert second.status == Status.OPEN


def test_an_imported_reply_assigns_nothing_the_history_does_not_say(tmp_path):
    """Live, a reply to an unassigned conversation assigns it to the replier; a history names
    its own assignments, so its replies keep the assignee it gives (none here)."""
    run_import(tmp_path, conversation_line("c-1", events=[]))
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.assignee is None
    assert EventType.CONVERSATION_ASSIGNED not in [event for event, _ in history(conversation)]


def test_importing_the_same_file_twice_creates_nothing_new(tmp_path):
    lines = [conversation_line("c-1"), conversation_line("c-2")]
    run_import(tmp_path, *lines)
    counts = [
        model.objects.count()
        for model in (Conversation, Customer, Message, ConversationEvent, User, Team)
    ]
    out, err = run_import(tmp_path, *lines)
    assert "created 0, skipped 2 (already imported), rejected 0" in out
    assert [
        model.objects.count()
        for model in (Conversation, Customer, Message, ConversationEvent, User, Team)
    ] == counts
    assert Customer.objects.filter(external_id="u-9").count() == 1  # shared by both lines


def test_bad_lines_are_reported_by_line_number_and_the_rest_is_imported(tmp_path):
    bad_time = conversation_line("c-4")
    bad_time["messages"][1]["sent_at"] = "yesterday"
    rated_too_early = conversation_line(
        "c-6",
        ratings=[{"score": 5, "at": t("09:20")}],
        events=[{"type": "assigned", "agent": "new.hire@example.com", "at": t("09:01")}],
        team="Brand new team",
    )
    out, err = run_import(
        tmp_path,
        conversation_line("c-1"),
        "{not json",
        {"channel": "web", "messages": []},
        bad_time,
        conversation_line(
            "c-5", messages=[{"author_kind": "robot", "body": "hi", "sent_at": t("09:00")}]
        ),
        rated_too_early,
        conversation_line("c-7"),
    )
    assert "created 2, skipped 0 (already imported), rejected 5" in out
    report = err.splitlines()
    assert report[0].startswith("line 2: invalid JSON")
    assert report[1] == "line 3: external_id: required"
    assert report[2] == (
        'line 4: messages[1].sent_at: "yesterday" is not an ISO 8601 time with a time zone'
    )
    assert report[3].startswith('line 5: messages[0].author_kind: unknown author kind "robot"')
    assert report[4] == ("line 6: ratings[0]: A conversation can be rated once it is resolved.")
    assert set(Conversation.objects.values_list("external_id", flat=True)) == {"c-1", "c-7"}
    # A rejected line is all or nothing: its agent and team were rolled back with it.
    assert not User.objects.filter(username="new.hire@example.com").exists()
    assert not Team.objects.filter(name="Brand new team").exists()


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*nowhere.jsonl"):
        call_command("import_history", str(tmp_path / "nowhere.jsonl"))


def test_customer_message_after_resolution_opens_a_new_cycle(tmp_path):
    line = conversation_line(
        events=[
            {"type": "assigned", "agent": "alice@example.com", "at": t("09:05")},
            {"type": "resolved", "agent": "alice@example.com", "at": t("09:30")},
        ],
        ratings=[{"score": 4, "comment": "ok", "at": t("09:40")}],
    )
    line["messages"].append(
        {"author_kind": "customer", "body": "It happened again.", "sent_at": t("12:00")}
    )
    run_import(tmp_path, line)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.status == Status.OPEN
    assert conversation.cycle == 2
    assert conversation.waiting_since == at("12:00")
    rating = Rating.objects.get(conversation=conversation)
    assert (rating.cycle, rating.score, rating.created_at) == (1, 4, at("09:40"))
    resolution, reopening = conversation.events.filter(
        type=EventType.CONVERSATION_UPDATED
    ).order_by("id")
    assert resolution.at == at("09:30") and resolution.change["resolved"] is True
    assert resolution.agent.email == "alice@example.com"
    assert reopening.at == at("12:00") and reopening.change["cycle"] == [1, 2]


def test_customer_message_turns_a_pending_conversation_open(tmp_path):
    line = conversation_line(
        events=[{"type": "status", "status": "pending", "at": t("09:11")}],
    )
    line["messages"].append(
        {"author_kind": "customer", "body": "Here is my order number.", "sent_at": t("10:00")}
    )
    run_import(tmp_path, line)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.status == Status.OPEN
    changes = list(
        conversation.events.filter(type=EventType.CONVERSATION_UPDATED)
        .order_by("id")
        .values_list("change__status", "at")
    )
    assert changes == [(["open", "pending"], at("09:11")), (["pending", "open"], at("10:00"))]


def test_events_at_the_same_instant_as_a_message_are_applied_before_it(tmp_path):
    line = conversation_line(
        messages=[
            {"author_kind": "customer", "body": "Hi", "sent_at": t("09:00")},
            {"author_kind": "customer", "body": "Still there?", "sent_at": t("10:00")},
        ],
        # Listed after the message in the file, but at the same instant: applied first,
        # so the customer's message wakes the conversation up again.
        events=[{"type": "status", "status": "pending", "at": t("10:00")}],
    )
    run_import(tmp_path, line)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.status == Status.OPEN
    assert [kind for kind, _at in history(conversation)][-3:] == [
        EventType.CONVERSATION_UPDATED,  # pending
        EventType.CONVERSATION_UPDATED,  # open again, by the message
        EventType.MESSAGE_CREATED,
    ]


def test_a_resolution_at_the_same_instant_as_a_reply_comes_after_it(tmp_path):
    """ "Reply and resolve", or a closing follow-up from another helpdesk: the reply belongs
    to the cycle it closes (it answers the customer), and only then is the cycle resolved."""
    line = conversation_line(
        messages=[
            {"author_kind": "customer", "body": "Hi", "sent_at": t("09:00")},
            {
                "author_kind": "agent",
                "agent": "bob@example.com",
                "body": "Done, closing.",
                "sent_at": t("09:30"),
            },
        ],
        # Listed first in the file, at the reply's instant.
        events=[{"type": "resolved", "agent": "bob@example.com", "at": t("09:30")}],
        ratings=[{"score": 5, "at": t("09:30")}],  # a rating at that instant rates it
    )
    run_import(tmp_path, line)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.status == Status.RESOLVED and conversation.waiting_since is None
    assert conversation.cycle == 1 and conversation.ratings.get().score == 5
    assert [kind for kind, _at in history(conversation)][-3:] == [
        EventType.MESSAGE_CREATED,  # the reply, answering the customer
        EventType.CONVERSATION_UPDATED,  # resolved
        EventType.CONVERSATION_RATED,
    ]


def test_agents_and_teams_are_created_when_missing_and_matched_when_present(tmp_path):
    existing = Team.objects.create(name="Billing")
    line = conversation_line(
        team="billing",  # any letter case finds the team
        events=[{"type": "assigned", "agent": "Bob@Example.com", "at": t("09:05")}],
    )
    line["messages"].append(
        {
            "author_kind": "agent",
            "agent": "bob@example.com",
            "body": "Internal: refund approved.",
            "sent_at": t("09:20"),
            "private": True,
        }
    )
    other = conversation_line(
        "c-2", team="Sales", events=[], customer={"external_id": "u-1", "name": "Liam"}
    )
    run_import(tmp_path, line, other)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.team == existing
    bob = User.objects.get(username="bob@example.com")
    assert bob.is_staff and not bob.has_usable_password()
    assert conversation.assignee == bob
    assert list(Agent.objects.get(user=bob).teams.all()) == [existing]
    note = conversation.messages.get(private=True)
    assert note.agent == bob and note.created_at == at("09:20")
    assert conversation.last_message_preview == "Looking into it now."  # notes are not shown
    assert Team.objects.filter(name="Sales").exists()
    assert Conversation.objects.get(external_id="c-2").team.name == "Sales"
    assert User.objects.filter(username="alice@example.com").count() == 1


def test_snoozes_unassignment_bots_and_explicit_reopen(tmp_path):
    line = conversation_line(
        messages=[
            {"author_kind": "customer", "body": "Kargom nerede?", "sent_at": t("09:00")},
            {"author_kind": "bot", "body": "An agent will reply soon.", "sent_at": t("09:00")},
        ],
        events=[
            {"type": "assigned", "agent": "alice@example.com", "at": t("09:05")},
            {
                "type": "status",
                "status": "snoozed",
                "snoozed_until": t("18:00"),
                "at": t("09:10"),
            },
            {"type": "assigned", "agent": None, "at": t("09:15")},
            {"type": "resolved", "at": t("10:00")},
            {"type": "reopened", "at": t("11:00")},
        ],
    )
    run_import(tmp_path, line)
    conversation = Conversation.objects.get(external_id="c-1")
    assert conversation.status == Status.OPEN and conversation.cycle == 2
    assert conversation.assignee is None
    bot = conversation.messages.get(author_kind="bot")
    assert bot.agent is None and bot.created_at == at("09:00")
    snooze = conversation.events.get(change__status=["open", "snoozed"])
    assert snooze.at == at("09:10") and snooze.change["snoozed_until"] == t("18:00")


def test_a_recent_imported_reply_is_never_mailed_by_the_missed_reply_sweep(tmp_path):
    """Imported history is never emailed (docs/import.md): the sweep of lost reply emails
    mailed the replies of the last day's history (on `serve`'s first start, 16 demo emails)."""
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from conversations.tasks import send_missed_reply_emails

    recent = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    line = conversation_line("c-recent")
    line["messages"][0]["sent_at"] = recent.isoformat()
    line["messages"][1]["sent_at"] = (recent + timedelta(minutes=10)).isoformat()
    line["events"][0]["at"] = (recent + timedelta(minutes=5)).isoformat()
    out, err = run_import(tmp_path, line)
    assert "created 1" in out and err == ""

    assert send_missed_reply_emails() == 0
    assert mail.outbox == []
