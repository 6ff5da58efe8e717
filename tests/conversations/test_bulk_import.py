"""`import_history --bulk` leaves exactly the rows the service replay leaves (history/replay.py).

The bulk planner mirrors the rules of services.py; these tests import one varied file both
ways and compare every row, so a rule changed in one place and not the other fails here.
"""

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from agents.models import Agent
from bench.history import lines as bench_lines
from conversations.history.bulk import bulk_import_lines
from conversations.models import (
    Conversation,
    ConversationEvent,
    Customer,
    EmailNotice,
    EventSequence,
    Team,
)
from conversations.services import home_inbox
from reports.models import MetricFact, ReportCursor
from reports.selectors import Slice, summary
from reports.services import process_new_events, rebuild_all

pytestmark = pytest.mark.django_db

User = get_user_model()
UNTIL = datetime(2026, 3, 1, tzinfo=UTC)


def t(minutes: float) -> str:
    return (UNTIL - timedelta(days=2) + timedelta(minutes=minutes)).isoformat()


def msg(kind: str, minutes: float, body: str = "Hello", **extra: Any) -> dict:
    return {"author_kind": kind, "body": body, "sent_at": t(minutes), **extra}


def line(external_id: str, messages: list, events: list = (), ratings: list = (), **fields):
    return {
        "external_id": external_id,
        "channel": fields.pop("channel", "email"),
        "team": fields.pop("team", "Edge"),
        "customer": fields.pop(
            "customer", {"external_id": f"cust-{external_id}", "name": "Ayşe", "email": "a@x.io"}
        ),
        "messages": messages,
        "events": list(events),
        "ratings": list(ratings),
        **fields,
    }


A, B = "edge-a@example.com", "edge-b@example.com"


def edge_lines() -> list[Any]:
    """Every rule the planner mirrors, and the lines either path must refuse or skip."""
    return [
        # Resolved, rated, reopened by the customer (a new cycle), rated again.
        line(
            "reopen",
            [msg("customer", 0), msg("agent", 5, agent=A), msg("customer", 30, "Again!")],
            [
                {"type": "assigned", "agent": A, "at": t(1)},
                {"type": "resolved", "agent": A, "at": t(10)},
                {"type": "resolved", "agent": A, "at": t(11)},  # already resolved: nothing
                {"type": "resolved", "at": t(40)},  # credited to the assignee
            ],
            [{"score": 2, "at": t(12), "comment": "slow"}, {"score": 5, "at": t(41)}],
        ),
        # Pending, then the customer writes; snoozed (until a time, then by default a day),
        # the customer writes; an agent reopens explicitly; status open on a resolved one.
        line(
            "pending",
            [
                msg("customer", 0),
                msg("bot", 0, "I am a bot"),
                msg("agent", 2, "note", agent=B, private=True),
                msg("agent", 3, "  many   spaces\nhere ", agent=B),
                msg("customer", 10),
                msg("customer", 20),
                msg("system", 25, "System says"),
                msg("customer", 60),
            ],
            [
                {"type": "assigned", "agent": B, "at": t(0)},  # same instant: before messages
                {"type": "status", "status": "pending", "agent": B, "at": t(4)},
                {"type": "status", "status": "pending", "agent": B, "at": t(5)},  # no change
                {"type": "status", "status": "snoozed", "snoozed_until": t(600), "at": t(12)},
                {"type": "status", "status": "snoozed", "agent": B, "at": t(21)},
                {"type": "resolved", "agent": B, "at": t(30)},
                {"type": "reopened", "agent": A, "at": t(35)},
                {"type": "reopened", "agent": A, "at": t(36)},  # not resolved: nothing
                {"type": "resolved", "agent": A, "at": t(40)},
                {"type": "status", "status": "open", "agent": B, "at": t(50)},
                {"type": "status", "status": "snoozed", "snoozed_until": t(900), "at": t(70)},
            ],
        ),
        # Unassigned, reassigned, assigned to the same agent again; no team named.
        line(
            "unassign",
            [msg("agent", 0, "We reach out first", agent=A), msg("customer", 9)],
            [
                {"type": "assigned", "agent": A, "at": t(1)},
                {"type": "assigned", "agent": None, "at": t(2)},
                {"type": "assigned", "agent": B, "at": t(3)},
                {"type": "assigned", "agent": B, "at": t(4)},
            ],
            team=None,
        ),
        # The same customer as "reopen" (matched on external_id), and one without any.
        line("same-customer", [msg("customer", 5)], customer=dict(external_id="cust-reopen")),
        line("anonymous", [msg("customer", 6)], customer={"name": "Nobody"}),
        # A customer already in the database keeps its own name and email.
        line("known", [msg("customer", 7)], customer={"external_id": "known", "name": "File"}),
        # A new agent and a new team, named first by this line.
        line(
            "newcomer",
            [msg("customer", 1), msg("agent", 2, agent="new-agent@example.com")],
            team="Brand New",
        ),
        # Reply and resolve at one instant (the resolution comes after the reply), rated then.
        line(
            "reply-and-resolve",
            [msg("customer", 0), msg("agent", 8, "Fixed, closing.", agent=A)],
            [{"type": "resolved", "agent": A, "at": t(8)}],
            [{"score": 4, "at": t(8)}],
        ),
        # Refused: JSON, rating before resolution, pending while resolved, private customer
        # note, empty body, snooze in the past, an unknown agent only in a refused line.
        "{not json",
        line("early-rating", [msg("customer", 0)], ratings=[{"score": 4, "at": t(1)}]),
        line(
            "pending-resolved",
            [msg("customer", 0)],
            [
                {"type": "resolved", "agent": A, "at": t(1)},
                {"type": "status", "status": "pending", "at": t(2)},
            ],
        ),
        line("private-customer", [msg("customer", 0, private=True)]),
        line("empty", [msg("customer", 0, "   ")]),
        line(
            "past-snooze",
            [msg("customer", 0)],
            [{"type": "status", "status": "snoozed", "snoozed_until": t(-5), "at": t(1)}],
        ),
        line("ghost", [msg("agent", 0, agent="ghost@example.com"), msg("customer", 1, "")]),
        line(
            "bad-score",
            [msg("customer", 0)],
            [{"type": "resolved", "at": t(1)}],
            [{"score": 7, "at": t(2)}],
        ),
        line("nul", [msg("customer", 0, "a\x00b")]),
        # Imported once only: the second line with this id is skipped.
        line("reopen", [msg("customer", 99)]),
    ]


def history_file(tmp_path, prefix: str) -> str:
    items: list[Any] = [json.loads(text) for text in bench_lines(300, seed=7, days=20, until=UNTIL)]
    items += edge_lines()
    path = tmp_path / f"{prefix}history.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            if isinstance(item, dict):
                item = json.loads(json.dumps(item))
                item["external_id"] = prefix + item["external_id"]
                if item["customer"].get("external_id"):
                    item["customer"]["external_id"] = prefix + item["customer"]["external_id"]
                item = json.dumps(item, ensure_ascii=False)
            out.write(item + "\n\n")  # blank lines are ignored but counted
    return str(path)


def run(path: str, *args: str) -> tuple[str, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", path, "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), [text for text in err.getvalue().splitlines() if text.startswith("line")]


# --- Normalized rows: everything but ids, cursors and the moment of the import -------------------


def rows(prefix: str) -> dict[str, Any]:
    conversations = Conversation.objects.filter(external_id__startswith=prefix).select_related(
        "customer"
    )
    result = {}
    for conversation in conversations:
        result[conversation.external_id.removeprefix(prefix)] = conversation_rows(
            conversation, prefix
        )
    return result


def conversation_rows(conversation: Conversation, prefix: str) -> dict[str, Any]:
    customer = conversation.customer
    message_index = {
        pk: index
        for index, pk in enumerate(
            conversation.messages.order_by("id").values_list("pk", flat=True)
        )
    }
    events = list(conversation.events.order_by("cursor"))
    assert [event.pk for event in events] == sorted(event.pk for event in events)
    return {
        "conversation": {
            field.attname: getattr(conversation, field.attname)
            for field in Conversation._meta.concrete_fields
            if field.attname not in ("id", "customer_id", "external_id")
        },
        "customer": (
            customer.name,
            customer.email,
            (customer.external_id or "").removeprefix(prefix),
            customer.identifier,
        ),
        "messages": list(
            conversation.messages.order_by("id").values_list(
                "client_id", "author_kind", "agent_id", "body", "private", "created_at"
            )
        ),
        "ratings": list(
            conversation.ratings.order_by("cycle").values_list(
                "cycle", "score", "comment", "created_at"
            )
        ),
        "events": [
            (
                event.type,
                event.at,
                event.public,
                event.agent_id,
                message_index.get(event.message_id),
                event.author_kind,
                normalized_data(event.data, conversation, message_index),
                event.change,
            )
            for event in events
        ],
    }


def normalized_data(data: dict, conversation: Conversation, message_index: dict) -> dict:
    data = json.loads(json.dumps(data))
    if "conversation" in data:  # a message
        assert data["conversation"] == conversation.pk
        data["id"] = message_index[data["id"]]
        data["conversation"] = None
        if data["author"]["kind"] == "customer":
            assert data["author"]["id"] == conversation.customer_id
            data["author"]["id"] = None
    else:
        assert data["id"] == conversation.pk
        assert data["customer"]["id"] == conversation.customer_id
        data["id"] = data["customer"]["id"] = None
    return data


def file_order(prefix: str) -> list[str]:
    """Conversations in the order of their first cursor."""
    firsts = ConversationEvent.objects.filter(
        conversation__external_id__startswith=prefix, type="conversation.created"
    ).order_by("cursor")
    return [event.conversation.external_id.removeprefix(prefix) for event in firsts]


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two nested structures differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(a.keys() | b.keys())
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


# --- Tests -----------------------------------------------------------------------------------


def test_bulk_import_leaves_the_rows_the_replay_leaves(tmp_path):
    Team.objects.create(name="Support", is_default=True)  # where "unassign" goes
    Team.objects.create(name="edge")  # matched in any letter case
    for prefix in ("n-", "b-"):
        Customer.objects.create(external_id=f"{prefix}known", name="Known", email="k@x.io")

    normal_out, normal_rejected = run(history_file(tmp_path, "n-"))
    bulk_out, bulk_rejected = run(history_file(tmp_path, "b-"), "--bulk")

    assert "created 308, skipped 1 (already imported), rejected 9" in normal_out
    assert bulk_out.splitlines()[0] == normal_out.splitlines()[0]  # then each one's rate
    assert bulk_rejected == normal_rejected  # same line numbers, same reasons
    assert len(normal_rejected) == 9
    normal, bulk = rows("n-"), rows("b-")
    assert normal.keys() == bulk.keys()
    for external_id in normal:
        assert bulk[external_id] == normal[external_id], external_id
    assert file_order("b-") == file_order("n-")
    # Both mark the history's replies mailed: the sweep of missed reply emails leaves them.
    for conversation in Conversation.objects.filter(external_id__isnull=False):
        last = conversation.messages.order_by("-id").values_list("id", flat=True).first()
        notice = EmailNotice.objects.filter(conversation=conversation).first()
        assert (notice and notice.last_message_id_sent) == last, conversation.external_id
    # Every event is sequenced, the sequence knows it, and the bulk block follows the replay.
    assert not ConversationEvent.objects.filter(cursor__isnull=True).exists()
    cursors = list(ConversationEvent.objects.order_by("id").values_list("cursor", flat=True))
    assert cursors == sorted(cursors) == list(range(cursors[0], cursors[0] + len(cursors)))
    assert EventSequence.objects.get().last_cursor == cursors[-1]
    # The edge cases did what the services say (so the comparison compares something).
    reopen = bulk["reopen"]["conversation"]
    assert (reopen["status"], reopen["cycle"]) == ("resolved", 2)
    assert [rating[:2] for rating in bulk["reopen"]["ratings"]] == [(1, 2), (2, 5)]
    pending = bulk["pending"]["conversation"]
    assert (pending["status"], pending["cycle"]) == ("snoozed", 3)
    assert pending["last_message_preview"] == "Hello"
    assert bulk["known"]["customer"][:2] == ("Known", "k@x.io")
    assert bulk["unassign"]["conversation"]["assignee_id"] == User.objects.get(username=B).pk
    assert not User.objects.filter(username="ghost@example.com").exists()


def test_bulk_import_creates_the_same_agents_and_teams(tmp_path):
    path = history_file(tmp_path, "")

    def directory() -> tuple:
        agents = {
            (agent.user.username, agent.user.is_staff, tuple(t.name for t in agent.teams.all()))
            for agent in Agent.objects.select_related("user").prefetch_related("user__teams")
        }
        return agents, set(Team.objects.values_list("name", flat=True))

    run(path, "--bulk")
    after_bulk = directory()
    for model in (Conversation, Customer, User, Team):
        model.objects.all().delete()
    run(path)
    assert directory() == after_bulk
    assert ("new-agent@example.com", True, ("Brand New",)) in after_bulk[0]


def test_reports_rebuilt_after_a_bulk_import_equal_those_after_a_replay(tmp_path):
    path = history_file(tmp_path, "")
    since, until = UNTIL - timedelta(days=30), UNTIL

    def report() -> list[dict]:
        rebuild_all()
        slices = [Slice(), *(Slice(team=pk) for pk in Team.objects.values_list("pk", flat=True))]
        slices += [Slice(channel="email"), Slice(agent=User.objects.get(username=A).pk)]
        reports = [summary(since, until, each) for each in slices]
        for each in reports:
            del each["computed_at"]
            each["waiting_now"].pop("longest_seconds")  # counted up to now()
        return reports

    run(path)
    replayed = report()
    assert replayed[0]["conversations"]["created"] == 308
    Conversation.objects.all().delete()
    Customer.objects.all().delete()
    run(path, "--bulk")
    bulk = report()
    assert differences(bulk, replayed) == []
    assert MetricFact.objects.exists()


def test_reports_step_over_a_bulk_block_only_when_caught_up(tmp_path):
    """A caught-up report cursor steps over the imported block (rebuild_reports covers it);
    one that lags behind live events stays put, so those events are still processed."""
    path = history_file(tmp_path, "")
    ReportCursor.objects.create(pk=1, cursor=0)
    out, _rejected = run(path, "--bulk")
    last = EventSequence.objects.get().last_cursor
    assert ReportCursor.objects.get().cursor == last
    assert process_new_events() == 0  # nothing left for the incremental task

    Conversation.objects.all().delete()
    ReportCursor.objects.filter(pk=1).update(cursor=last - 5)  # five live events unprocessed
    run(history_file(tmp_path, "again-"), "--bulk")
    assert ReportCursor.objects.get().cursor == last - 5
    assert process_new_events() > 0


@pytest.mark.django_db(transaction=True)
def test_pipelined_batches_leave_the_same_rows(tmp_path):
    """Outside a transaction a writer thread copies each batch while the next is planned:
    the next batch must see the customers and ids of the one still being written."""
    Team.objects.create(name="Support", is_default=True)
    for prefix in ("n-", "b-"):
        Customer.objects.create(external_id=f"{prefix}known", name="Known", email="k@x.io")
    run(history_file(tmp_path, "n-"))
    rejected: list[int] = []
    with open(history_file(tmp_path, "b-"), "rb") as source:
        # Batches of 3: "reopen" is in batch 101, "same-customer" (its customer) in 102.
        result = bulk_import_lines(
            source, on_reject=lambda number, reason: rejected.append(number), batch_size=3
        )
    assert (result.created, result.skipped, result.rejected) == (308, 1, 9)
    assert differences(rows("b-"), rows("n-")) == []
    assert file_order("b-") == file_order("n-")
    reopen = Conversation.objects.get(external_id="b-reopen")
    assert Conversation.objects.get(external_id="b-same-customer").customer_id == (
        reopen.customer_id
    )


@pytest.mark.parametrize("mode", [(), ("--bulk",)], ids=["replay", "bulk"])
def test_web_and_email_history_is_filed_under_their_home_inboxes(tmp_path, mode):
    Team.objects.create(name="Support", is_default=True)
    web, email = home_inbox("web"), home_inbox("email")
    path = tmp_path / "channels.jsonl"
    path.write_text(
        "".join(
            json.dumps(line(f"{channel}-1", [msg("customer", 0)], channel=channel)) + "\n"
            for channel in ("web", "email", "legacy-chat")
        ),
        encoding="utf-8",
    )
    out, rejected = run(str(path), *mode)
    assert "created 3" in out and not rejected
    expected = {"web-1": web.pk, "email-1": email.pk, "legacy-chat-1": None}
    found = dict(Conversation.objects.values_list("external_id", "inbox_id"))
    assert found == expected
    created = ConversationEvent.objects.filter(type="conversation.created")
    assert {event.conversation.external_id: event.data["inbox"] for event in created} == expected
    # Reports by inbox cover the imported history.
    rebuild_all()
    since, until = UNTIL - timedelta(days=3), UNTIL
    for inbox in (web, email):
        assert summary(since, until, Slice(inbox=inbox.pk))["conversations"]["created"] == 1
