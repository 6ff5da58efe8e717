"""`import_history --bulk`: the same history, written with PostgreSQL COPY (PostgreSQL only).

The normal import replays each line through the services, one transaction a line. This path
parses and validates lines with the same code (records.parse_record), then *plans* each
conversation in plain Python: it applies the lifecycle (lifecycle.py, the rules the services
apply live) to an in-memory state and collects exactly the rows the replay would leave behind
(customer, conversation, messages, ratings, events with the same payloads), and writes a whole
batch of conversations with COPY in one transaction. What is left here is about writing rows
fast; the payload shapes are the serializers' own functions.
tests/conversations/test_bulk_import.py imports the same varied file both ways and compares
every row.

Cursors: the batch takes the EventSequence row lock (events.reserve_cursors) just before it
copies its events and numbers them in id order, holding the lock until it commits, as a
sequencing pass does: cursor order stays commit order. Live writers that commit meanwhile
leave their events to the next pass, which the importer runs after each batch.

Imported events are not broadcast and `event_published` is not sent for them: every receiver
ignores history (`live=False`) anyway. `history_imported` is sent instead, in the batch's
transaction, so reports can step their incremental cursor over the block (reports/receivers.py).
"""

import gc
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import lifecycle
from ..errors import HelpdeskError
from ..events import broadcasts_muted, history_imported, publish_pending_events, reserve_cursors
from ..files.checks import LinkedFile, check_count
from ..lifecycle import AGENT, ASSIGNED, CREATED, CUSTOMER, MESSAGE_CREATED, RATED
from ..models import (
    Attachment,
    AuthorKind,
    Conversation,
    ConversationEvent,
    Customer,
    EmailNotice,
    Inbox,
    Message,
    Priority,
    Rating,
    new_customer_token,
)
from ..serializers import (
    author_shape,
    conversation_shape,
    message_shape,
    person_payload,
    team_shape,
)
from ..services import check_body, default_team, home_inbox
from .records import ConversationRecord, RejectedLine, Step, _problem, lifecycle_step
from .replay import (
    ImportResult,
    Team,
    User,
    _batches,
    _Directory,
    _Importer,
    _numbered,
)

BULK_BATCH_SIZE = 10_000  # conversations per transaction

NORMAL = Priority.NORMAL.value


def bulk_available() -> bool:
    return connection.vendor == "postgresql"


def bulk_import_lines(
    lines: Iterable[str | bytes],
    *,
    on_reject: Callable[[int, str], None],
    batch_size: int = BULK_BATCH_SIZE,
) -> ImportResult:
    """Import lines (numbered from 1, like import_lines) in batches of `batch_size`
    conversations, one COPY transaction each.

    A writer thread (with its own connection) copies batch N while this thread parses and
    plans batch N+1, so Python and PostgreSQL work at the same time. Inside a caller's
    transaction (tests) everything runs inline in it. A batch that fails in the database (a
    concurrent import of the same lines) is imported again line by line by the normal path,
    which sorts out who got there first.
    """
    _check_columns()
    importer = _BulkImporter(on_reject)
    batches = _batches(_numbered(lines), batch_size)
    with (
        broadcasts_muted(),
        _fewer_garbage_collections(),
    ):  # for the line-by-line fallback, like import_lines
        if connection.in_atomic_block:
            for batch in batches:
                prepared = importer.prepare(batch, None)
                importer.finish(prepared, partial(_write_batch, prepared))
            return importer.result
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-import") as writer:
            in_flight: tuple[_Prepared, Future] | None = None
            for batch in batches:
                prepared = importer.prepare(batch, in_flight[0] if in_flight else None)
                if in_flight and not importer.finish(in_flight[0], in_flight[1].result):
                    prepared = importer.prepare_again(prepared)  # it counted on that batch
                in_flight = (prepared, writer.submit(_write_batch_in_thread, prepared))
            if in_flight:
                importer.finish(in_flight[0], in_flight[1].result)
    return importer.result


@contextmanager
def _fewer_garbage_collections() -> Iterator[None]:
    """A batch allocates millions of small containers, none of them cyclic garbage; the
    cyclic collector's default thresholds would scan them again and again (a large share
    of the import's CPU; see bench/RESULTS.md). Collect rarely while importing."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()  # what is alive now (Django, the app) is never scanned again
    gc.set_threshold(200_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


# --- The in-memory conversation and what it leaves behind --------------------------------------


@dataclass(slots=True)
class PlannedMessage:
    client_id: str
    author_kind: str
    agent: str | None  # email; ids are known once the batch resolves its directory
    body: str
    private: bool
    at: datetime
    files: list[LinkedFile] = field(default_factory=list)


@dataclass(slots=True)
class PlannedEvent:
    event: lifecycle.Event  # agents named by email, like the plan's state
    message: int | None = None  # index into the plan's messages


@dataclass(slots=True)
class Plan:
    """One conversation's final state and every row its history adds."""

    record: ConversationRecord
    state: lifecycle.State
    messages: list[PlannedMessage] = field(default_factory=list)
    ratings: list[tuple[int, int, str, datetime]] = field(default_factory=list)
    events: list[PlannedEvent] = field(default_factory=list)


def plan_record(record: ConversationRecord, *, body_limit: int, check_nul: bool = True) -> Plan:
    """Apply the lifecycle to the record's steps in memory, as the replay's services do;
    RejectedLine if one breaks a rule, with the same reason the replay gives. `check_nul`:
    the line may hold a NUL. The team goes into the created event once rows are built."""
    if check_nul:
        _refuse_nul(record)
    state, created = lifecycle.create(at=record.steps[0].at, team=None)
    plan = Plan(record, state, events=[PlannedEvent(event) for event in created])
    for step in record.steps:
        try:
            _plan_step(plan, step, body_limit)
        except HelpdeskError as error:
            raise RejectedLine(_problem(step.where, str(error.message))) from error
    return plan


def _plan_step(plan: Plan, step: Step, body_limit: int) -> None:
    data = step.data
    if step.kind == "message":
        # As message_post checks before the lifecycle.
        check_body(data["body"], body_limit, may_be_empty=bool(data["files"]))
        check_count(len(data["files"]))
    plan.state, events = lifecycle.apply(plan.state, lifecycle_step(step, data.get("agent")))
    for event in events:
        message = None
        if event.message:
            kind = data["author_kind"]
            agent = data["agent"] if kind == AGENT else None
            plan.messages.append(
                PlannedMessage(
                    data["client_id"],
                    kind,
                    agent,
                    data["body"],
                    data["private"],
                    step.at,
                    data["files"],
                )
            )
            message = len(plan.messages) - 1
        elif event.type == RATED:
            rating = event.change["rating"]
            plan.ratings.append((rating["cycle"], rating["score"], data["comment"] or "", step.at))
        plan.events.append(PlannedEvent(event, message))


def _refuse_nul(record: ConversationRecord) -> None:
    """The replay's INSERT fails on a NUL character (and says so in psycopg's words); COPY
    would fail the whole batch."""
    texts = [record.external_id, record.channel, record.team or "", record.customer.name]
    texts += [record.customer.email, record.customer.external_id or ""]
    texts += [step.data.get(key) or "" for step in record.steps for key in ("body", "comment")]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise RejectedLine(_nul_problem())


_NUL_ESCAPE = {bytes: b"\\u0000", str: "\\u0000"}


def _nul_problem() -> str:
    return _("PostgreSQL text fields cannot contain NUL (0x00) bytes")


# --- Batches ------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """A batch ready to COPY (ids reserved), and what the next batch must know about it
    while it is being written."""

    lines: dict[int, str | bytes]
    numbers: list[int]  # of the planned lines
    plans: list[Plan]
    external_ids: set[str]
    new_customers: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    referenced: dict[Any, set[int]] = field(default_factory=dict)  # model -> ids read
    tables: list[tuple[Any, tuple[str, ...], list]] = field(default_factory=list)
    events: list[list[Any]] = field(default_factory=list)


class _BulkImporter(_Importer):
    """Parses, skips and rejects exactly like _Importer; writes a batch with COPY instead."""

    def prepare(
        self, batch: list[tuple[int, str | bytes]], in_flight: "_Prepared | None"
    ) -> "_Prepared":
        # JSON spells a NUL as \u0000: only those lines need the closer look.
        maybe_nul = {number for number, line in batch if _NUL_ESCAPE[type(line)] in line}
        records, known = self.parse_batch(batch)
        if in_flight is not None:  # not committed yet
            known |= in_flight.external_ids
        prepared = _Prepared(lines=dict(batch), numbers=[], plans=[], external_ids=set())
        body_limit = settings.HELPDESK_MAX_MESSAGE_LENGTH
        for number, record in records:
            if record.external_id in known:
                self.result.skipped += 1
                continue
            try:
                plan = plan_record(record, body_limit=body_limit, check_nul=number in maybe_nul)
            except RejectedLine as rejection:
                self.reject(number, rejection.reason)
                continue
            prepared.plans.append(plan)
            prepared.numbers.append(number)
            known.add(record.external_id)
        prepared.external_ids = {plan.record.external_id for plan in prepared.plans}
        _RowBuilder(self.directory, prepared, in_flight).build()
        return prepared

    def prepare_again(self, prepared: "_Prepared") -> "_Prepared":
        """Rows again, after the batch before failed: they may name its customers."""
        fresh = _Prepared(prepared.lines, prepared.numbers, prepared.plans, prepared.external_ids)
        _RowBuilder(self.directory, fresh, None).build()
        return fresh

    def finish(self, prepared: "_Prepared", written: Callable[[], Any]) -> bool:
        """Wait for (or do) the batch's write; on a database error replay it line by line.
        Returns whether the COPY went through."""
        try:
            written()
        except DatabaseError:
            # Someone imported some of these lines meanwhile: sort it out line by line.
            lines = prepared.lines
            _Importer.import_batch(self, [(number, lines[number]) for number in prepared.numbers])
            publish_pending_events()
            return False
        self.result.created += len(prepared.plans)
        return True


def _write_batch_in_thread(prepared: "_Prepared") -> None:
    try:
        _write_batch(prepared)
    finally:
        connection.close()  # the thread's own connection


def _write_batch(prepared: "_Prepared") -> None:
    """One transaction: COPY the rows, number the events under the sequence lock."""
    if prepared.plans:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            checks_skipped = _skip_foreign_key_checks(prepared.referenced)
            for model, columns, rows in prepared.tables:
                _copy(model, columns, rows)
            first = _sequence(prepared.events)
            _copy(ConversationEvent, EVENT_COLUMNS, prepared.events)
            if checks_skipped:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = origin")
            history_imported.send(
                sender=ConversationEvent,
                first_cursor=first,
                last_cursor=first + len(prepared.events) - 1,
            )
    publish_pending_events()  # live events our lock held back, if any


def _commit_without_waiting_for_disk() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _skip_foreign_key_checks(referenced: dict[Any, set[int]]) -> bool:
    """Checking every foreign key of ~16 rows per conversation, one lookup each, is much of
    the database's work. A batch references only rows it writes itself and the teams,
    agents and existing customers it has read: those are locked FOR KEY SHARE (the lock a
    foreign key check takes) until commit, so they cannot go away, and the checks are
    switched off for the COPYs. Needs a superuser; otherwise the checks run as usual.
    Returns whether they were switched off."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        qn = connection.ops.quote_name
        for model, ids in referenced.items():
            if ids:
                cursor.execute(
                    f"SELECT 1 FROM {qn(model._meta.db_table)} WHERE id = ANY(%s) FOR KEY SHARE",
                    [sorted(ids)],
                )
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def _sequence(event_rows: list[list]) -> int:
    """Reserve a block of cursors under the EventSequence lock (held until commit) and number
    the events in id order, as a sequencing pass would. Returns the first."""
    first = reserve_cursors(len(event_rows))
    for cursor, row in enumerate(event_rows, start=first):  # ids ascend with the rows
        row[1] = cursor
    return first


class _RowBuilder:
    """Turns a batch's plans into rows, with ids reserved from the sequences."""

    def __init__(self, directory: _Directory, prepared: _Prepared, in_flight: "_Prepared | None"):
        self.directory = directory
        self.prepared = prepared
        self.plans = prepared.plans
        self.in_flight = in_flight
        self.now = timezone.now()
        self.people: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {}
        self.inboxes: dict[str, int | None] = {}  # channel -> its home inbox, as the replay's

    def build(self) -> None:
        plans, prepared = self.plans, self.prepared
        if not plans:
            return
        teams = self._resolve_directory()
        for plan in plans:
            self._inbox_id(plan.record.channel)
        self.directory.keep_staged()  # created outside the batch's transaction: they stay
        self.directory.load_customers({plan.record.customer.external_id for plan in plans} - {None})
        customer_rows, customers = self._customers()
        prepared.referenced = {
            Team: {team.pk for team in teams if team is not None},
            User: {person[0] for person in self.people.values()},
            Customer: {customer.pk for customer in self.directory.customers.values()},
            Inbox: {inbox_id for inbox_id in self.inboxes.values() if inbox_id is not None},
        }
        conversation_ids = _reserve(Conversation, len(plans))
        message_ids = iter(_reserve(Message, sum(len(plan.messages) for plan in plans)))
        rating_ids = iter(_reserve(Rating, sum(len(plan.ratings) for plan in plans)))
        event_ids = iter(_reserve(ConversationEvent, sum(len(plan.events) for plan in plans)))
        files = sum(len(message.files) for plan in plans for message in plan.messages)
        self.attachment_ids = iter(_reserve(Attachment, files))
        self.attachment_rows: list[tuple] = []
        conversation_rows, message_rows, rating_rows, event_rows = [], [], [], []
        for plan, conversation_id, customer, team in zip(
            plans, conversation_ids, customers, teams, strict=True
        ):
            self._rows(
                plan,
                conversation_id,
                customer,
                team,
                (message_ids, rating_ids, event_ids),
                (conversation_rows, message_rows, rating_rows, event_rows),
            )
        prepared.tables = [
            (Customer, CUSTOMER_COLUMNS, customer_rows),
            (Conversation, CONVERSATION_COLUMNS, conversation_rows),
            (Message, MESSAGE_COLUMNS, message_rows),
            (Rating, RATING_COLUMNS, rating_rows),
            (Attachment, ATTACHMENT_COLUMNS, self.attachment_rows),
            (EmailNotice, EMAIL_NOTICE_COLUMNS, _replies_mailed(message_rows)),
        ]
        prepared.events = event_rows

    def _attachments(self, message: PlannedMessage, message_id: int) -> list[dict[str, Any]]:
        """The message's imported links as Attachment rows; their shapes for its payload."""
        shapes = []
        for file in message.files:
            attachment_id = next(self.attachment_ids)
            self.attachment_rows.append(
                (
                    attachment_id,
                    message_id,
                    "",  # nothing stored: a link only
                    file.url,
                    file.name,
                    file.content_type,
                    file.size,
                    "",
                    message.at,
                )
            )
            shapes.append(
                {
                    "id": attachment_id,
                    "name": file.name,
                    "content_type": file.content_type,
                    "size": file.size,
                }
            )
        return shapes

    def _inbox_id(self, channel: str) -> int | None:
        """The home inbox of web and email history (services.home_inbox), once a batch."""
        if channel not in self.inboxes:
            inbox = home_inbox(channel)
            self.inboxes[channel] = inbox.pk if inbox else None
        return self.inboxes[channel]

    def _resolve_directory(self) -> list[Any]:
        """Teams and agents in file order, as the replay meets them (a new agent joins the
        team of the first line that names it). Returns each plan's team."""
        teams = []
        fallback: list[Any] = []
        for plan in self.plans:
            record = plan.record
            if record.team:
                team = self.directory.team(record.team)
            else:
                if not fallback:
                    fallback.append(default_team())
                team = fallback[0]
            teams.append(team)
            for step in record.steps:
                email = step.data.get("agent")
                if email and email not in self.people:
                    user = self.directory.agent(email, team if record.team else None)
                    self.people[email] = (
                        user.pk,
                        person_payload(user),
                        author_shape(AuthorKind.AGENT, agent=user),
                    )
        return teams

    def _customers(self) -> tuple[list[tuple], list[tuple[int, str, str]]]:
        """New customers' rows, and (id, name, email) of each plan's customer."""
        directory = self.directory
        in_flight = self.in_flight.new_customers if self.in_flight else {}
        found: list[Any] = []
        new_rows: list[list] = []
        new: dict[str, list] = {}
        for plan in self.plans:
            record = plan.record.customer
            external_id = record.external_id
            known = directory.customers.get(external_id) if external_id else None
            if known is not None:
                found.append((known.pk, known.name, known.email))
            elif external_id is not None and external_id in in_flight:
                found.append(in_flight[external_id])
            elif external_id is not None and external_id in new:
                found.append(new[external_id])
            else:
                row = [None, record.name or "", record.email or "", external_id]
                new_rows.append(row)
                found.append(row)
                if external_id is not None:
                    new[external_id] = row
        for row, customer_id in zip(new_rows, _reserve(Customer, len(new_rows)), strict=True):
            row[0] = customer_id
        self.prepared.new_customers = {
            external_id: (row[0], row[1], row[2]) for external_id, row in new.items()
        }
        rows = [
            (row[0], row[1], row[2], new_customer_token(), None, row[3], self.now, None, "")
            + ("", "", "{}")  # browser, time zone, attributes: the widget reports them later
            for row in new_rows
        ]
        return rows, [(item[0], item[1], item[2]) for item in found]

    def _rows(
        self,
        plan: Plan,
        conversation_id: int,
        customer: tuple[int, str, str],
        team: Any,
        ids: tuple,
        out: tuple[list, list, list, list],
    ) -> None:
        message_ids, rating_ids, event_ids = ids
        conversation_rows, message_rows, rating_rows, event_rows = out
        record, people = plan.record, self.people
        customer_id, customer_name, customer_email = customer
        customer_payload = {"id": customer_id, "name": customer_name, "email": customer_email}
        team_id = team.pk if team else None
        team_payload = team_shape(team)
        created_at = plan.events[0].event.at
        final = plan.state
        conversation_rows.append(
            (
                conversation_id,
                customer_id,
                record.channel,
                final.status,
                team_id,
                people[final.assignee][0] if final.assignee else None,
                NORMAL,
                final.snoozed_until,
                final.cycle,
                created_at,
                final.last_activity_at,
                final.waiting_since,
                final.resolved_at,
                final.with_bot,  # False: imported history never starts with the bot
                final.preview,
                record.external_id,
                "",  # no call back asked for
                None,
                None,
                self.inboxes[record.channel],  # web and email: their home inbox, else none
            )
        )
        customer_author = author_shape(
            AuthorKind.CUSTOMER, customer=_Customer(customer_id, customer_name)
        )
        message_rows_here = []
        for message in plan.messages:
            message_id = next(message_ids)
            agent_id = people[message.agent][0] if message.agent else None
            message_rows.append(
                (
                    message_id,
                    conversation_id,
                    message.client_id,
                    message.author_kind,
                    agent_id,
                    message.body,
                    message.private,
                    message.at,
                    "",  # history is never delivered anywhere
                    "",
                )
            )
            if message.author_kind == CUSTOMER:
                author = customer_author
            elif message.agent:
                author = people[message.agent][2]
            else:
                author = author_shape(message.author_kind)
            payload = message_shape(
                id=message_id,
                conversation=conversation_id,
                client_id=message.client_id,
                author=author,
                body=message.body,
                private=message.private,
                created_at=message.at,
                attachments=self._attachments(message, message_id),
            )
            message_rows_here.append((message_id, agent_id, _json(payload)))
        for cycle, score, comment, at in plan.ratings:
            rating_rows.append((next(rating_ids), conversation_id, cycle, score, comment, at))
        for planned in plan.events:
            event = planned.event
            agent_id = people[event.agent][0] if event.agent else None
            if planned.message is not None:
                message = plan.messages[planned.message]
                message_id, _agent, data = message_rows_here[planned.message]
                event_rows.append(
                    [
                        next(event_ids),
                        None,
                        conversation_id,
                        MESSAGE_CREATED,
                        event.at,
                        not message.private,
                        agent_id,
                        message_id,
                        message.author_kind,
                        data,
                        "{}",
                    ]
                )
                continue
            state = event.state
            data = conversation_shape(
                id=conversation_id,
                status=state.status,
                channel=record.channel,
                customer=customer_payload,
                team=team_payload,
                assignee=people[state.assignee][1] if state.assignee else None,
                priority=NORMAL,
                labels=[],
                snoozed_until=state.snoozed_until,
                cycle=state.cycle,
                waiting_since=state.waiting_since,
                last_message_preview=state.preview,
                created_at=created_at,
                last_activity_at=state.last_activity_at,
                inbox=self.inboxes[record.channel],
            )
            change = event.change
            if event.type == CREATED:
                change = {"team": [None, team_id]}
            elif event.type == ASSIGNED:
                before, after = change["assignee"]
                change = {
                    "assignee": [
                        people[before][0] if before else None,
                        people[after][0] if after else None,
                    ],
                    "by": None,
                }
            event_rows.append(
                [
                    next(event_ids),
                    None,
                    conversation_id,
                    event.type,
                    event.at,
                    True,
                    agent_id,
                    None,
                    "",
                    _json(data),
                    _json(change),
                ]
            )


@dataclass(frozen=True)
class _Customer:
    """Enough of a customer for author_shape()."""

    pk: int
    name: str


# --- COPY -----------------------------------------------------------------------------------

CUSTOMER_COLUMNS = (
    "id",
    "name",
    "email",
    "token",
    "identifier",
    "external_id",
    "created_at",
    "last_seen_at",
    "language",
    "browser",
    "time_zone",
    "attributes",
)
CONVERSATION_COLUMNS = (
    "id",
    "customer_id",
    "channel",
    "status",
    "team_id",
    "assignee_id",
    "priority",
    "snoozed_until",
    "cycle",
    "created_at",
    "last_activity_at",
    "waiting_since",
    "resolved_at",
    "with_bot",
    "last_message_preview",
    "external_id",
    "callback_phone",
    "callback_requested_at",
    "callback_requested_by_id",
    "inbox_id",
)
MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "client_id",
    "author_kind",
    "agent_id",
    "body",
    "private",
    "created_at",
    "delivery",
    "external_id",
)
RATING_COLUMNS = ("id", "conversation_id", "cycle", "score", "comment", "created_at")
ATTACHMENT_COLUMNS = (
    "id",
    "message_id",
    "file",
    "external_url",
    "name",
    "content_type",
    "size",
    "thumbnail",
    "created_at",
)
EVENT_COLUMNS = (
    "id",
    "cursor",
    "conversation_id",
    "type",
    "at",
    "public",
    "agent_id",
    "message_id",
    "author_kind",
    "data",
    "change",
)


# The id comes from the table's sequence; the replay's notices (history/replay.py) have these.
EMAIL_NOTICE_COLUMNS = ("conversation_id", "last_message_id_sent", "status", "last_error")


def _replies_mailed(message_rows: list[tuple]) -> list[tuple]:
    """Each conversation's notice that its messages are mailed, up to its last: the sweep of
    missed reply emails never mails history (docs/import.md)."""
    last: dict[int, int] = {}
    for row in message_rows:
        message_id, conversation_id = row[0], row[1]
        last[conversation_id] = max(message_id, last.get(conversation_id, 0))
    return [(conversation_id, message_id, "", "") for conversation_id, message_id in last.items()]


def _check_columns() -> None:
    """A column added to a model must be added here too (with what the services write)."""
    for model, columns in (
        (Customer, CUSTOMER_COLUMNS),
        (Conversation, CONVERSATION_COLUMNS),
        (Message, MESSAGE_COLUMNS),
        (Rating, RATING_COLUMNS),
        (Attachment, ATTACHMENT_COLUMNS),
        (ConversationEvent, EVENT_COLUMNS),
    ):
        expected = {field.column for field in model._meta.concrete_fields}
        if expected != set(columns):
            raise RuntimeError(
                f"bulk import: {model.__name__} has columns {sorted(expected ^ set(columns))} "
                "that conversations/history/bulk.py does not know (or no longer has)"
            )


def _json(value: Any) -> str:
    """Event payloads as JSON text for COPY (orjson: this is the import's hottest step)."""
    return orjson.dumps(value).decode()


def _reserve(model: Any, count: int) -> list[int]:
    """`count` fresh primary keys from the table's sequence, ascending (not necessarily
    contiguous: concurrent inserts may take some in between)."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy(model: Any, columns: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> None:
    qn = connection.ops.quote_name
    statement = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
