"""History import by replay: JSON lines, one conversation a line (shared/API.md "History import").

Each line (parsed by records.py) is replayed through the services with its original
timestamps, so imported history obeys the rules of live use (a customer message reopens a
resolved conversation, turns a pending one open, …) and leaves the same event log behind.

A line is one transaction: it is imported whole or not at all. A bad line is reported with
its line number and skipped. Lines whose conversation `external_id` is already in the
database are skipped too, so importing a file twice creates nothing new.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, transaction

from ..errors import HelpdeskError
from ..events import broadcasts_muted, publish_pending_events
from ..models import Conversation, Customer, EmailNotice, Message, Team
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
    home_inbox,
    message_post,
)
from .records import ConversationRecord, CustomerRecord, RejectedLine, Step, _problem, parse_record

User = get_user_model()  # the bulk import reads it from here, with Team

BATCH_SIZE = 500


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already imported (same conversation external_id)
    rejected: int = 0


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
        inbox=home_inbox(record.channel),  # web and email history: reports by inbox cover it
    )
    for step in record.steps:
        try:
            _apply(conversation, step, directory, team)
        except HelpdeskError as error:
            raise RejectedLine(_problem(step.where, str(error.message))) from error
    _mark_replies_emailed(conversation)
    return conversation


def _mark_replies_emailed(conversation: Conversation) -> None:
    """The customer had the history's replies in the other helpdesk: the sweep of missed
    reply emails must not mail them again (an import of the last day, the demo's)."""
    last = Message.objects.filter(conversation=conversation).order_by("-id").first()
    if last is not None:
        EmailNotice.objects.create(conversation=conversation, last_message_id_sent=last.pk)


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
            claim=False,  # the history names its own assignments
            files=data["files"],
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
