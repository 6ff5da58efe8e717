"""The one place that appends ConversationEvent rows and broadcasts them.

Why cursors are assigned after commit: ids come from a sequence at insert time, but
concurrent transactions commit in any order, so id 101 can be visible while id 100 is still
in flight; a reader who replays "id > 100" after seeing 101 would skip 100 for good.
Instead each event gets its `cursor` in a short *sequencing* transaction that runs after the
writer commits, holding the lock on the single EventSequence row. Sequencing transactions
therefore commit one after another with increasing cursors, and they only see committed
events: once cursor N is visible, every cursor below N is visible too. Replaying
"cursor > N" can never skip an event.

An event whose sequencing never ran (a crash right after commit) keeps cursor NULL until the
next sequencing pass, triggered by any later commit or by the beat task: the log is also the
outbox, so nothing is lost, only delayed.
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import Conversation, ConversationEvent, EventSequence, EventType, Message
from .selectors import last_cursor
from .serializers import conversation_payload, message_payload

logger = logging.getLogger(__name__)

SEQUENCE_BATCH = 2000

# Sent after an event is sequenced (outside any transaction), with `event=` and `live=`
# (False for history replayed by an import: nobody should act on old news as if it were new).
# Other apps (routing in `agents`, metrics in `reports`) react to it; this app calls neither.
event_published = Signal()

# Sent by the bulk history import (history/bulk.py) inside the transaction that wrote a block
# of already-sequenced events, with `first_cursor=` and `last_cursor=`; event_published is
# not sent for them. Reports use it to step over history they rebuild instead.
history_imported = Signal()

_local = threading.local()


@contextmanager
def broadcasts_muted() -> Iterator[None]:
    """Bulk imports: events are sequenced when the caller publishes (once per batch, not
    after every commit) and nothing is sent live."""
    previous = getattr(_local, "muted", False)
    _local.muted = True
    try:
        yield
    finally:
        _local.muted = previous


def record_event(
    conversation: Conversation,
    type: EventType,
    *,
    at: datetime | None = None,
    message: Message | None = None,
    agent: Any = None,
    public: bool = True,
    change: dict[str, Any] | None = None,
) -> ConversationEvent:
    """Append an event to the log inside the caller's transaction.

    It is sequenced and broadcast once that transaction commits. `agent` is a user or its id.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change it logs")
    data = message_payload(message) if message is not None else conversation_payload(conversation)
    event = ConversationEvent.objects.create(
        conversation=conversation,
        type=type,
        at=at or timezone.now(),
        message=message,
        author_kind=message.author_kind if message is not None else "",
        agent_id=getattr(agent, "pk", agent),
        public=public,
        data=data,
        change=change or {},
    )
    _local.recorded = getattr(_local, "recorded", 0) + 1
    _recorded_events().append(event)
    transaction.on_commit(_publish_after_commit)
    return event


def _recorded_events() -> list[ConversationEvent]:
    """This thread's events not yet published (those of a rolled-back transaction too: they
    are never numbered, and the next pass forgets them)."""
    if not hasattr(_local, "events"):
        _local.events = []
    return _local.events


def _publish_after_commit() -> None:
    """One pass covers every event this thread recorded: the other callbacks of the same
    transaction find nothing new and skip the query."""
    if getattr(_local, "muted", False):
        return  # a bulk import publishes once per batch instead (import_lines)
    recorded = getattr(_local, "recorded", 0)
    if recorded > getattr(_local, "published", 0):
        _local.published = recorded
        publish_pending_events()


def publish_pending_events(*, wait: bool = True) -> int:
    """Give cursors to committed, unsequenced events, then broadcast them. Returns the count.

    Every committer calls this after its own commit and waits for the sequence lock: the
    statement that numbers events takes its snapshot after that commit, so it numbers the
    committer's events itself, or finds them numbered by a pass that ran meanwhile. No event
    depends on another process noticing it. The lock is held for one statement.
    With `wait=False` a process that finds another one sequencing leaves the work to it.
    """
    total = 0
    while True:
        published = _sequence_batch(wait=wait)
        if not published:
            break
        total += len(published)
        live = not getattr(_local, "muted", False)
        if live:
            broadcast(published)
        for event in published:
            _tell_receivers(event, live)
        if len(published) < SEQUENCE_BATCH:
            break  # everything committed before this pass is numbered
    return total


def _tell_receivers(event: ConversationEvent, live: bool) -> None:
    """Receivers react after the commit (emails, reports): the event is in the log either way,
    so a receiver that fails (Redis down, say) is logged and never fails the request."""
    results = event_published.send_robust(sender=ConversationEvent, event=event, live=live)
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error(
                "%s failed on event %s",
                getattr(receiver, "__qualname__", receiver),
                event.pk,
                exc_info=result,
            )


# One statement, one short transaction: lock the sequence row, lock the committed events
# without a cursor (oldest first), number them after the sequence's last cursor, and move the
# sequence on. Only committed events are visible to it and passes run one at a time under
# the sequence row's lock, so cursors become visible in increasing order. An event another
# pass numbered while this one waited for the lock is re-checked under its row lock
# (READ COMMITTED) and left out. Answers whether the sequence row exists (or was free), and
# the numbered events' ids and cursors.
_SEQUENCE_SQL = """
WITH sequence AS MATERIALIZED (
    SELECT last_cursor FROM {sequence} WHERE id = 1 FOR UPDATE {skip_locked}
), pending AS MATERIALIZED (
    SELECT id FROM {event}
    WHERE cursor IS NULL AND EXISTS (SELECT 1 FROM sequence)
    ORDER BY id LIMIT %s FOR UPDATE
), numbered AS MATERIALIZED (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM pending
), sequenced AS (
    UPDATE {event} SET cursor = (SELECT last_cursor FROM sequence) + numbered.n
    FROM numbered WHERE {event}.id = numbered.id
    RETURNING {event}.id, {event}.cursor
), advanced AS (
    UPDATE {sequence}
    SET last_cursor = (SELECT last_cursor FROM sequence) + (SELECT count(*) FROM numbered)
    WHERE id = 1 AND EXISTS (SELECT 1 FROM numbered)
)
SELECT
    EXISTS (SELECT 1 FROM sequence),
    ARRAY(SELECT id FROM sequenced ORDER BY cursor),
    ARRAY(SELECT cursor FROM sequenced ORDER BY cursor)
"""


def _sequence_batch(*, wait: bool) -> list[ConversationEvent]:
    """Number pending events in one statement; [] if none (or another holds the lock)."""
    found, numbered = _number_pending(wait=wait)
    if not found and not EventSequence.objects.filter(pk=1).exists():
        _create_sequence()
        found, numbered = _number_pending(wait=wait)
    return _numbered_events(numbered) if numbered else []


def _number_pending(*, wait: bool) -> tuple[bool, list[tuple[int, int]]]:
    """(whether the sequence row was found, [(event id, cursor)] just given)."""
    if connection.vendor != "postgresql":
        return _number_pending_one_writer()
    sql = _SEQUENCE_SQL.format(
        sequence=connection.ops.quote_name(EventSequence._meta.db_table),
        event=connection.ops.quote_name(ConversationEvent._meta.db_table),
        skip_locked="" if wait else "SKIP LOCKED",
    )
    with connection.cursor() as cursor:  # autocommit: the statement is its own transaction
        cursor.execute(sql, [SEQUENCE_BATCH])
        found, ids, cursors = cursor.fetchone()
    return found, list(zip(ids, cursors, strict=True))


def _number_pending_one_writer() -> tuple[bool, list[tuple[int, int]]]:
    """The same in plain ORM calls, for SQLite (the embedded mode), where one transaction
    writes at a time: its IMMEDIATE transactions do what the row lock does above."""
    with transaction.atomic():
        sequence = EventSequence.objects.filter(pk=1).first()
        if sequence is None:
            return False, []
        pending = ConversationEvent.objects.filter(cursor__isnull=True).order_by("id")
        ids = list(pending.values_list("id", flat=True)[:SEQUENCE_BATCH])
        numbered = [(pk, sequence.last_cursor + n) for n, pk in enumerate(ids, start=1)]
        ConversationEvent.objects.bulk_update(
            [ConversationEvent(pk=pk, cursor=cursor) for pk, cursor in numbered], ["cursor"]
        )
        if numbered:
            sequence.last_cursor = numbered[-1][1]
            sequence.save(update_fields=["last_cursor"])
    return True, numbered


def _numbered_events(numbered: list[tuple[int, int]]) -> list[ConversationEvent]:
    """The events just numbered, in cursor order. This thread's own are taken as recorded
    (with the conversation they changed, as it was committed); others are read."""
    known = {event.pk: event for event in _recorded_events()}
    _local.events = []
    missing = [pk for pk, _ in numbered if pk not in known]
    if missing:
        read = ConversationEvent.objects.filter(pk__in=missing).select_related("conversation")
        known.update((event.pk, event) for event in read)
    events = []
    for pk, cursor in numbered:
        event = known[pk]
        event.cursor = cursor
        events.append(event)
    return events


def reserve_cursors(count: int) -> int:
    """Take `count` cursors after the sequence's last one, holding its row lock until the
    caller's transaction commits, as a sequencing pass does: the bulk import numbers its own
    events this way, and cursor order stays commit order. Returns the first."""
    sequence = EventSequence.objects.select_for_update().filter(pk=1).first()
    if sequence is None:
        _create_sequence()
        sequence = EventSequence.objects.select_for_update().get(pk=1)
    first = sequence.last_cursor + 1
    sequence.last_cursor += count
    sequence.save(update_fields=["last_cursor"])
    return first


def _create_sequence() -> None:
    """The sequence row, starting after any cursor already given (once per database)."""
    try:
        with transaction.atomic():
            EventSequence.objects.create(pk=1, last_cursor=last_cursor())
    except IntegrityError:
        pass  # another process created it first


# --- Live delivery ---------------------------------------------------------------------------


def envelope(event: ConversationEvent) -> dict[str, Any]:
    """The wire format of an event (shared/API.md "Websockets")."""
    result = {
        "type": event.type,
        "cursor": event.cursor,
        "conversation": event.conversation_id,
        "at": event.at.isoformat(),
        "data": event.data,
    }
    if event.change:
        result["change"] = event.change
    return result


def groups_for(event: ConversationEvent, conversation: Conversation | None = None) -> list[str]:
    """The Channels groups that should hear about this event: those of `conversation` (by
    default the event's, as loaded) and the team and assignee it had before the change."""
    conversation = conversation or event.conversation
    groups = {f"conversation.{conversation.pk}"}
    if event.public:
        groups.add(f"customer.{conversation.customer_id}")
    team_ids = {conversation.team_id, *_changed_ids(event, "team")}
    agent_ids = {conversation.assignee_id, *_changed_ids(event, "assignee")}
    groups.update(f"team.{team_id}" for team_id in team_ids if team_id)
    groups.update(f"agent.{agent_id}" for agent_id in agent_ids if agent_id)
    if conversation.team_id is None:
        groups.add("inbox")
    groups.add("admins")
    return sorted(groups)


def _changed_ids(event: ConversationEvent, field: str) -> Iterable[int]:
    """Previous and new team/assignee ids, so those who lose a conversation hear it too."""
    values = event.change.get(field) or []
    return [value for value in values if isinstance(value, int)]


WAKE_EVENTS_MAX = 50  # events carried by one wake-up; a larger batch is read by each tail

# The ASGI server's event loop (helpdesk/asgi.py records it). A request thread hands its
# broadcast to that loop and answers at once instead of waiting for Redis.
server_loop: asyncio.AbstractEventLoop | None = None


def broadcast(events: list[ConversationEvent]) -> None:
    if not events:
        return
    # One wake-up per batch for every server process; each process's log tail takes the new
    # events once and wakes its own sockets (live/tail.py). A small batch travels with the
    # wake-up, so a tail that already holds every cursor below it skips the database read.
    wake: dict[str, Any] = {"type": "log.wake", "cursor": max(event.cursor for event in events)}
    if len(events) <= WAKE_EVENTS_MAX:
        ordered = sorted(events, key=lambda event: event.cursor)
        # Routed by each conversation's newest state in the batch, as a tail reading the log
        # afterwards would: a transfer's note reaches the team it was transferred to.
        newest = {event.conversation_id: event.conversation for event in ordered}
        wake["events"] = [
            [event.cursor, groups_for(event, newest[event.conversation_id]), envelope(event)]
            for event in ordered
        ]
    send_to_groups([(["log"], wake)])


def send_to_groups(batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    """Send each message to its groups, best effort: from a request thread through the
    server's loop (the request answers at once), else right here."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = server_loop
    if loop is not None and loop.is_running() and not _on_loop_thread(loop):
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, batch), loop)
        future.add_done_callback(_log_failure)
        return
    try:
        async_to_sync(_send_all)(layer, batch)
    except Exception:  # live delivery is best effort; clients catch up from their cursor
        logger.exception("sending to the channel layer failed; clients will catch up")


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(future: "concurrent.futures.Future[None]") -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error(
            "sending to the channel layer failed; clients will catch up",
            exc_info=future.exception(),
        )


async def _send_all(layer: Any, batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    for groups, message in batch:
        for group in groups:
            await layer.group_send(group, message)
