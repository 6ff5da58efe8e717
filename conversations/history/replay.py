"""History import: JSON lines, one conversation a line (shared/API.md "History import").

Each line is replayed through the services with its original timestamps, so imported history
obeys the rules of live use (a customer message reopens a resolved conversation, turns a
pending one open, …) and leaves the same event log behind. Messages, events and ratings are
merged in time order; at one instant they go in the lifecycle's order (simultaneous_rank:
events, then messages, then a resolution, then ratings).

A line is one transaction: it is imported whole or not at all. A bad line is reported with
its line number and skipped. Lines whose conversation `external_id` is already in the
database are skipped too, so importing a file twice creates nothing new.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from .. import lifecycle
from ..errors import HelpdeskError
from ..events import broadcasts_muted, publish_pending_events
from ..lifecycle import simultaneous_rank
from ..models import AuthorKind, Conversation, Customer, Status, Team
from ..seams import agent_provisioner
from ..services import (
    Author,
    conversation_assign,
    conversation_create,
    conversation_rate,
    conversation_reopen,
    conversation_resolve,
    conversation_set_status,
    customer_create,
    message_post,
)

User = get_user_model()  # bulk_import reads it from here, with Team

BATCH_SIZE = 500
# A status event may say when a snooze ends; without it the snooze lasts a day.
DEFAULT_SNOOZE = timedelta(days=1)
EVENT_TYPES = ("assigned", "status", "resolved", "reopened")
AUTHOR_KINDS = frozenset(AuthorKind.values)
# Agent emails validated already: a file names the same few agents thousands of times.
_VALID_AGENT_EMAILS: set[str] = set()
IMPORTED_STATUSES = (Status.OPEN, Status.PENDING, Status.SNOOZED)


class RejectedLine(Exception):
    """A line that cannot be imported; `reason` says why, for the person running the import."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already imported (same conversation external_id)
    rejected: int = 0


@dataclass(frozen=True)
class CustomerRecord:
    external_id: str | None
    name: str
    email: str


@dataclass(frozen=True, order=True)
class Step:
    """One message, event or rating of a conversation, in the order it is replayed."""

    at: datetime
    rank: int
    position: int
    where: str  # e.g. "messages[2]", to name it in an error
    kind: str  # "message", an event type, or "rating"
    data: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class ConversationRecord:
    external_id: str
    channel: str
    team: str | None
    customer: CustomerRecord
    steps: list[Step]


# --- Entry point ------------------------------------------------------------------------------


def import_lines(
    lines: Iterable[str | bytes],
    *,
    on_reject: Callable[[int, str], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import JSON lines (numbered from 1; blank lines are ignored). Returns the counts.

    `on_reject(line_number, reason)` hears about every rejected line as it happens. Events are
    logged and sequenced as usual but not broadcast: nobody needs a flood of old news live.
    """
    importer = _Importer(on_reject or (lambda number, reason: None))
    with broadcasts_muted():
        for batch in _batches(_numbered(lines), batch_size):
            importer.import_batch(batch)
            publish_pending_events()  # one sequencing pass per batch
    return importer.result


def _numbered(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str | bytes]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch


class _Importer:
    def __init__(self, on_reject: Callable[[int, str], None]):
        self.on_reject = on_reject
        self.result = ImportResult()
        self.directory = _Directory()

    def parse_batch(
        self, batch: list[tuple[int, str | bytes]]
    ) -> tuple[list[tuple[int, ConversationRecord]], set[str]]:
        """The batch's records (rejecting lines that do not parse), and which of their
        conversations are imported already: one query for the whole batch."""
        records: list[tuple[int, ConversationRecord]] = []
        for number, line in batch:
            try:
                records.append((number, parse_record(line)))
            except RejectedLine as rejection:
                self.reject(number, rejection.reason)
        known = set(
            Conversation.objects.filter(
                external_id__in=[record.external_id for _number, record in records]
            ).values_list("external_id", flat=True)
        )
        return records, known

    def import_batch(self, batch: list[tuple[int, str | bytes]]) -> None:
        records, known = self.parse_batch(batch)
        self.directory.load_customers(
            {record.customer.external_id for _number, record in records} - {None}
        )
        for number, record in records:
            if record.external_id in known:
                self.result.skipped += 1
                continue
            if self.import_record(number, record):
                known.add(record.external_id)

    def import_record(self, number: int, record: ConversationRecord) -> bool:
        """Replay one conversation in its own transaction. Returns whether it was created."""
        try:
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                replay(record, self.directory)
        except RejectedLine as rejection:
            reason = rejection.reason
        except IntegrityError as error:
            if Conversation.objects.filter(external_id=record.external_id).exists():
                self.directory.forget_staged()
                self.result.skipped += 1  # a concurrent import got there first
                return False
            reason = str(error).strip()
        except DatabaseError as error:
            reason = str(error).strip()
        else:
            self.directory.keep_staged()
            self.result.created += 1
            return True
        self.directory.forget_staged()
        self.reject(number, reason)
        return False

    def reject(self, number: int, reason: str) -> None:
        self.result.rejected += 1
        self.on_reject(number, reason)


def _commit_without_waiting_for_disk() -> None:
    """An imported line need not wait for its own disk flush: a crash can only lose lines
    that a second import brings back (lines are idempotent), and the sequencing commit
    that follows each batch waits for the flush of everything before it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# --- Replay -----------------------------------------------------------------------------------


def replay(record: ConversationRecord, directory: "_Directory") -> Conversation:
    """Create the conversation and apply its steps in order, through the services."""
    team = directory.team(record.team) if record.team else None
    conversation = conversation_create(
        customer=directory.customer(record.customer),
        channel=record.channel,
        team=team,
        at=record.steps[0].at,
        external_id=record.external_id,
    )
    for step in record.steps:
        try:
            _apply(conversation, step, directory, team)
        except HelpdeskError as error:
            raise RejectedLine(_problem(step.where, str(error.message))) from error
    return conversation


def _apply(conversation: Conversation, step: Step, directory: "_Directory", team: Any) -> None:
    data, at = step.data, step.at
    agent = directory.agent(data["agent"], team) if data.get("agent") else None
    if step.kind == "message":
        message_post(
            conversation=conversation,
            author=Author(data["author_kind"], agent),
            body=data["body"],
            client_id=data["client_id"],
            private=data["private"],
            at=at,
        )
    elif step.kind == "assigned":
        conversation_assign(conversation=conversation, assignee=agent, at=at)
    elif step.kind == "status":
        conversation_set_status(
            conversation=conversation,
            status=data["status"],
            by=agent,
            snoozed_until=data.get("snoozed_until"),
            at=at,
        )
    elif step.kind == "resolved":
        conversation_resolve(conversation=conversation, by=agent, at=at)
    elif step.kind == "reopened":
        conversation_reopen(conversation=conversation, by=agent, at=at)
    elif step.kind == "rating":
        conversation_rate(
            conversation=conversation, score=data["score"], comment=data["comment"], at=at
        )


def lifecycle_step(step: Step, agent: Any) -> lifecycle.Step:
    """The lifecycle step an import step is (the bulk planner applies it in memory), with
    `agent` naming the step's agent however the caller names agents."""
    data, at = step.data, step.at
    if step.kind == "message":
        return lifecycle.PostMessage(at, data["author_kind"], data["body"], data["private"], agent)
    if step.kind == "assigned":
        return lifecycle.Assign(at, agent)
    if step.kind == "status":
        return lifecycle.SetStatus(at, data["status"], agent, data.get("snoozed_until"))
    if step.kind == "resolved":
        return lifecycle.Resolve(at, agent)
    if step.kind == "reopened":
        return lifecycle.Reopen(at, agent)
    return lifecycle.Rate(at, data["score"])


class _Directory:
    """Teams, agents and customers named in the file, cached by name for the run.

    Rows found or created while a line is replayed are staged and kept only if the line
    commits: a rejected line's rows are rolled back, so its cache entries must go too.
    """

    def __init__(self) -> None:
        self.teams: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}
        self.customers: dict[str, Customer] = {}  # the current batch's only: memory stays flat
        self._staged: list[tuple[dict[str, Any], str]] = []

    def load_customers(self, external_ids: set[str]) -> None:
        self.customers = Customer.objects.in_bulk(list(external_ids), field_name="external_id")

    def team(self, name: str) -> Any:
        key = name.lower()
        if key not in self.teams:
            team = Team.objects.filter(name__iexact=name).first() or Team.objects.create(name=name)
            self._stage(self.teams, key, team)
        return self.teams[key]

    def agent(self, email: str, team: Any) -> Any:
        """The user with this email, made an agent by the registered provisioner (agents'
        own service); a new one joins `team`."""
        if email not in self.agents:
            provision = agent_provisioner()
            user = provision(email=email, teams=[team] if team is not None else [])
            self._stage(self.agents, email, user)
        return self.agents[email]

    def customer(self, record: CustomerRecord) -> Customer:
        if record.external_id is None:
            return customer_create(name=record.name, email=record.email)
        if record.external_id not in self.customers:
            customer = customer_create(
                name=record.name, email=record.email, external_id=record.external_id
            )
            self._stage(self.customers, record.external_id, customer)
        return self.customers[record.external_id]

    def _stage(self, store: dict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        self._staged.append((store, key))

    def keep_staged(self) -> None:
        self._staged.clear()

    def forget_staged(self) -> None:
        for store, key in self._staged:
            store.pop(key, None)
        self._staged.clear()


# --- Parsing: one line into a ConversationRecord, or a RejectedLine saying why ---------------


def parse_record(line: str | bytes) -> ConversationRecord:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedLine(_("invalid JSON (%(error)s)") % {"error": error}) from error
    if not isinstance(data, dict):
        raise RejectedLine(_("a line must be a JSON object (one conversation)"))
    external_id = _identifier(data.get("external_id"), "external_id")
    if external_id is None:
        raise RejectedLine(_problem("external_id", _("required")))
    channel = _text(data.get("channel"), "channel", max_length=32) or "web"
    team = _text(data.get("team"), "team", max_length=100) or None
    customer = _customer(data.get("customer"))
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RejectedLine(_problem("messages", _("a non-empty list is required")))
    steps = [_message_step(item, index) for index, item in enumerate(messages)]
    steps += [_event_step(item, index) for index, item in enumerate(_list(data, "events"))]
    steps += [_rating_step(item, index) for index, item in enumerate(_list(data, "ratings"))]
    steps.sort()
    return ConversationRecord(external_id, channel, team, customer, steps)


def _customer(value: Any) -> CustomerRecord:
    if not isinstance(value, dict):
        raise RejectedLine(_problem("customer", _("an object is required")))
    email = _text(value.get("email"), "customer.email", max_length=254)
    if email:
        _check_email(email, "customer.email")
    return CustomerRecord(
        external_id=_identifier(value.get("external_id"), "customer.external_id"),
        name=_text(value.get("name"), "customer.name", max_length=200),
        email=email,
    )


def _message_step(item: Any, index: int) -> Step:
    where = f"messages[{index}]"
    item = _object(item, where)
    kind = item.get("author_kind")
    if kind not in AUTHOR_KINDS:
        raise RejectedLine(
            _problem(
                f"{where}.author_kind",
                _("unknown author kind %(kind)s (customer, agent, bot or system)")
                % {"kind": _shown(kind)},
            )
        )
    agent = _agent(item.get("agent"), f"{where}.agent") if kind == AuthorKind.AGENT else None
    if kind == AuthorKind.AGENT and agent is None:
        raise RejectedLine(_problem(f"{where}.agent", _("an agent message names its agent")))
    private = item.get("private", False)
    if not isinstance(private, bool):
        raise RejectedLine(_problem(f"{where}.private", _("true or false")))
    data = {
        "author_kind": AuthorKind(kind),
        "agent": agent,
        "body": item.get("body"),  # checked by message_post, like any message
        "private": private,
        "client_id": f"import-{index}",
    }
    at = _time(item.get("sent_at"), f"{where}.sent_at")
    return Step(at, simultaneous_rank("message"), index, where, "message", data)


def _event_step(item: Any, index: int) -> Step:
    where = f"events[{index}]"
    item = _object(item, where)
    kind = item.get("type")
    if kind not in EVENT_TYPES:
        raise RejectedLine(
            _problem(
                f"{where}.type",
                _("unknown event type %(type)s (assigned, status, resolved or reopened)")
                % {"type": _shown(kind)},
            )
        )
    at = _time(item.get("at"), f"{where}.at")
    if kind == "assigned" and "agent" not in item:
        raise RejectedLine(
            _problem(f"{where}.agent", _("an email, or null to unassign, is required"))
        )
    data: dict[str, Any] = {"agent": _agent(item.get("agent"), f"{where}.agent")}
    if kind == "status":
        status = item.get("status")
        if status not in IMPORTED_STATUSES:
            raise RejectedLine(
                _problem(
                    f"{where}.status",
                    _("unknown status %(status)s (open, pending or snoozed)")
                    % {"status": _shown(status)},
                )
            )
        data["status"] = status
        if status == Status.SNOOZED:
            until = item.get("snoozed_until")
            data["snoozed_until"] = (
                _time(until, f"{where}.snoozed_until") if until else at + DEFAULT_SNOOZE
            )
    return Step(at, simultaneous_rank(kind), index, where, kind, data)


def _rating_step(item: Any, index: int) -> Step:
    where = f"ratings[{index}]"
    item = _object(item, where)
    data = {
        "score": item.get("score"),  # checked by conversation_rate
        "comment": _text(item.get("comment"), f"{where}.comment", max_length=10_000),
    }
    at = _time(item.get("at"), f"{where}.at")
    return Step(at, simultaneous_rank("rating"), index, where, "rating", data)


def _agent(value: Any, where: str) -> str | None:
    if value is None:
        return None
    email = _text(value, where, max_length=150).strip().lower()  # the username is the email
    if email not in _VALID_AGENT_EMAILS:
        _check_email(email, where)
        if len(_VALID_AGENT_EMAILS) < 10_000:
            _VALID_AGENT_EMAILS.add(email)
    return email


def _check_email(email: str, where: str) -> None:
    try:
        validate_email(email)
    except ValidationError as error:
        problem = _("%(value)s is not an email address") % {"value": _shown(email)}
        raise RejectedLine(_problem(where, problem)) from error


def _time(value: Any, where: str) -> datetime:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        problem = _("%(value)s is not an ISO 8601 time with a time zone") % {"value": _shown(value)}
        raise RejectedLine(_problem(where, problem))
    return parsed


def _identifier(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(value, where, max_length=255)


def _text(value: Any, where: str, *, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RejectedLine(_problem(where, _("text is required")))
    if len(value) > max_length:
        problem = _("at most %(max)d characters") % {"max": max_length}
        raise RejectedLine(_problem(where, problem))
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RejectedLine(_problem(where, _("an object is required")))
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RejectedLine(_problem(key, _("a list is required")))
    return value


def _shown(value: Any) -> str:
    """A value quoted for an error message, kept short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _problem(where: str, problem: str) -> str:
    return _("%(where)s: %(problem)s") % {"where": where, "problem": problem}
