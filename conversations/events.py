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

# Sent by the bulk history import (bulk_import.py) inside the transaction that wrote a block
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

    It is sequenced and broadcast once that transaction commits.
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
        agent=agent,
        public=public,
        data=data,
        change=change or {},
    )
    _local.recorded = getattr(_local, "recorded", 0) + 1
    transaction.on_commit(_publish_after_commit)
    return event


def _publish_after_commit() -> None:
    """One pass covers every event this thread recorded: the other callbacks of the same
    transaction find nothing new and skip the query."""
    if getattr(_local, "muted", False):
        return  # a bulk import publishes once per batch instead (import_lines)
    recorded = getattr(_local, "recorded", 0)
    if recorded > getattr(_local, "published", 0):
        _local.published = recorded
        publish_pending_events(wait=False)


def publish_pending_events(*, wait: bool = True) -> int:
    """Give cursors to committed, unsequenced events, then broadcast them. Returns the count.

    With `wait=False` (after each commit) a process that finds another one sequencing leaves
    the work to it instead of queueing on the lock: the holder looks for pending events again
    after it releases the lock, and this transaction had committed before it looked.
    """
    total = 0
    while ConversationEvent.objects.filter(cursor__isnull=True).exists():
        published = _sequence_batch(wait=wait)
        if not published:
            break
        total += len(published)
        live = not getattr(_local, "muted", False)
        if live:
            broadcast(published)
        for event in published:
            event_published.send(sender=ConversationEvent, event=event, live=live)
    return total


def _sequence_batch(*, wait: bool) -> list[ConversationEvent]:
    """Number the pending events in one short transaction; [] if another holds the lock."""
    with transaction.atomic():
        sequence = _locked_sequence(wait=wait)
        if sequence is None:
            return []
        pending = list(
            ConversationEvent.objects.select_for_update()
            .filter(cursor__isnull=True)
            .select_related("conversation")
            .order_by("id")[:SEQUENCE_BATCH]
        )
        for event in pending:
            sequence.last_cursor += 1
            event.cursor = sequence.last_cursor
        ConversationEvent.objects.bulk_update(pending, ["cursor"])
        sequence.save(update_fields=["last_cursor"])
    return pending


def _locked_sequence(*, wait: bool) -> EventSequence | None:
    """The sequence row, locked; None when another transaction holds it and we don't wait."""
    rows = EventSequence.objects.select_for_update(skip_locked=not wait).filter(pk=1)
    sequence = rows.first()
    if sequence is not None or (not wait and EventSequence.objects.filter(pk=1).exists()):
        return sequence
    try:
        with transaction.atomic():
            EventSequence.objects.create(pk=1, last_cursor=last_cursor())
    except IntegrityError:
        pass  # another process created it first
    return EventSequence.objects.select_for_update().get(pk=1)


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


def groups_for(event: ConversationEvent) -> list[str]:
    """The Channels groups that should hear about this event."""
    conversation = event.conversation
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


# The ASGI server's event loop (helpdesk/asgi.py records it). A request thread hands its
# broadcast to that loop and answers at once instead of waiting for Redis.
server_loop: asyncio.AbstractEventLoop | None = None


def broadcast(events: list[ConversationEvent]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return
    # One wake-up per batch for every server process; each process's log tail reads the new
    # events once and wakes its own sockets (live_tail.py).
    batch = [(["log"], {"type": "log.wake", "cursor": max(event.cursor for event in events)})]
    loop = server_loop
    if loop is not None and loop.is_running() and not _on_loop_thread(loop):
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, batch), loop)
        future.add_done_callback(_log_failure)
        return
    try:
        async_to_sync(_send_all)(layer, batch)
    except Exception:  # live delivery is best effort; clients catch up from their cursor
        logger.exception("broadcast failed; clients will catch up on resume")


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(future: "concurrent.futures.Future[None]") -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("broadcast failed; clients will catch up", exc_info=future.exception())


async def _send_all(layer: Any, batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    for groups, message in batch:
        for group in groups:
            await layer.group_send(group, message)
