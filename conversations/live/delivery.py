"""One client's place in the event log, and the rules that deliver the rest of it.

Channels groups are at-most-once, and events published by different processes can arrive out
of cursor order. A client keeps the highest cursor it saw and resumes after it, so a socket
that sent cursor 110 before 108 could lose 108 for good if the client disconnected in between.
Live messages are therefore treated as wake-ups and the log decides:

1. the socket joins its groups *first* (live events wait until `resume`);
2. `resume` replays, from the database, every visible event after the client's cursor,
   oldest first, in batches, then flushes the live events held meanwhile;
3. a live event above the *verified* cursor (up to which every visible event has been sent)
   makes the stream read the log after that cursor and send what it finds together with the
   live event, in cursor order. A stream never sends a cursor while a visible event below it
   is unsent, so resuming after the highest cursor seen never skips anything; a message Redis
   dropped goes out with the next live event, or at the next ping (a cheap poll, at most
   every POLL_SECONDS), or on reconnect. Under load one read covers every event committed
   before it, and the live copies queued behind it are dropped without a query.

Each cursor goes out at most once per client: the log's part is remembered as a range
(floor, verified], live events outside the log's answer (an agent hearing that a
conversation left their team) in a bounded set of recent cursors.

This is the delivery state alone, as Zulip keeps a client's event queue apart from the
handler that serves it: the websocket (consumers.py) authenticates, parses and sends frames,
and hands every cursored event to its EventStream.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from channels.db import database_sync_to_async as _database_sync_to_async

from .. import selectors
from ..events import envelope
from .tail import LogTail, log_tail

REPLAY_BATCH = 500
POLL_SECONDS = 15.0  # a ping reads the log at most this often, repairing silent drops
RECENT_CURSORS = 4096  # cursors remembered individually, for duplicate live copies
MAX_WAITING = 1000  # live events held before the first resume (the replay covers overflow)

Event = dict[str, Any]


def database_sync_to_async(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a database read on the thread pool. Channels' default funnels every socket's
    queries through one thread per process, so a thousand sockets would wait in line."""
    return _database_sync_to_async(function, thread_sensitive=False)


class Delivered:
    """What one client has been sent: every visible event in (floor, verified], plus recent
    cursors."""

    def __init__(self) -> None:
        self.floor = 0
        self.verified = 0
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()

    def covers(self, cursor: int) -> bool:
        return self.floor < cursor <= self.verified

    def sent(self, cursor: int) -> bool:
        return cursor in self._recent_set

    def record(self, cursor: int) -> None:
        if cursor in self._recent_set:
            return
        self._recent.append(cursor)
        self._recent_set.add(cursor)
        if len(self._recent) > RECENT_CURSORS:
            self._recent_set.discard(self._recent.popleft())

    def cover(self, floor: int, verified: int) -> None:
        """Every visible event in (floor, verified] has now been sent."""
        self.floor, self.verified = min(floor, verified), verified


def _closed(*args: Any) -> Any:
    raise RuntimeError("the client has gone")


class EventStream:
    """The log as one client may see it, delivered exactly once and in cursor order.

    `send` writes a frame to the client; `visible_after(cursor, limit)` reads the sequenced
    events after `cursor` the client may see, oldest first (sync, database); `accepts` is a
    last check on an event and `shown` how the client sees it; `groups` are the groups the
    client has joined (the log tail's events are filtered by them).
    """

    def __init__(
        self,
        *,
        send: Callable[[Any], Awaitable[None]],
        visible_after: Callable[[int, int], list[Any]],
        accepts: Callable[[Event], bool],
        shown: Callable[[Event], Event],
        groups: set[str],
    ) -> None:
        self.send, self.visible_after = send, visible_after
        self.accepts, self.shown, self.groups = accepts, shown, groups
        self.delivered = Delivered()
        self.resumed = False
        self.woken = 0  # highest cursor the log tail announced before `resume`
        self.lock = asyncio.Lock()  # one delivery at a time: resume, live, repair
        self.waiting: list[Event] = []
        self.last_poll = time.monotonic()

    def close(self) -> None:
        """The client has gone. Its callbacks are bound methods of the consumer, which holds
        this stream: dropping them lets both be freed at once, with the server's socket,
        instead of at the next full garbage collection."""
        self.send = self.visible_after = self.accepts = self.shown = _closed
        self.waiting = []

    # --- What the client and the log tail ask -------------------------------------------------

    async def resume(self, after: int | None) -> None:
        """Replay what the client missed after `after` (None: from now), say so with a
        `resumed` frame, then flush the live events held meanwhile."""
        async with self.lock:
            cursor = await self.replay(after)
            self.resumed = True
            await self.send({"type": "resumed", "cursor": cursor})
            waiting, self.waiting = self.waiting, []
            await self.deliver_live(waiting)
        if self.woken > cursor:  # logged while the replay ran
            await self.wake(self.woken)

    async def wake(self, cursor: int) -> None:
        """The process's log tail read events up to `cursor` for one of our groups."""
        if not self.resumed:
            self.woken = max(self.woken, cursor)  # the replay, or the wake after it, covers it
            return
        async with self.lock:
            if cursor <= self.delivered.verified:
                return
            tail = log_tail()
            if tail.holds_after(self.delivered.verified):
                await self.send_from_tail(tail, [])
            else:
                await self.repair()

    async def heard(self, event: Event) -> None:
        """A live copy of a logged event, from a group."""
        if not self.resumed:
            if len(self.waiting) < MAX_WAITING:
                self.waiting.append(event)
            return
        async with self.lock:
            await self.deliver_live([event])

    async def poll(self) -> None:
        """A ping: read the log now and then, in case a live message was dropped."""
        if self.resumed and time.monotonic() - self.last_poll >= POLL_SECONDS:
            async with self.lock:
                await self.repair()

    # --- Reading the log ----------------------------------------------------------------------

    async def replay(self, after: int | None) -> int:
        """Send what the client missed; returns the cursor up to which it has everything."""
        delivered = self.delivered
        if after is None and not self.resumed:  # "from now"
            now = await database_sync_to_async(selectors.last_cursor)()
            delivered.cover(now, now)
            return now
        if after is None or (self.resumed and delivered.floor <= after <= delivered.verified):
            floor, start = delivered.floor, delivered.verified  # the rest was sent already
        else:
            floor, start = after, after
        verified = await self.send_log_after(start, up_to_end=True)
        delivered.cover(min(floor, verified), verified)
        return verified

    async def repair(self) -> None:
        """Read the log after the verified cursor: sends what a dropped message left out."""
        tail = log_tail()
        await tail.refresh(max_age=1.0)  # one read a second serves every socket of the process
        if tail.holds_after(self.delivered.verified):
            await self.send_from_tail(tail, [])
            self.last_poll = time.monotonic()
            return
        self.delivered.cover(
            self.delivered.floor, await self.send_log_after(self.delivered.verified, up_to_end=True)
        )

    async def send_log_after(
        self, cursor: int, *, up_to_end: bool, heard: Iterable[Event] = ()
    ) -> int:
        """Send, oldest first, every visible event after `cursor` not sent yet, merged with
        the live events `heard` above it. Returns a cursor up to which every visible event has
        been sent: the last one read or heard, or with `up_to_end` the log's end read before
        the final batch, if higher (cursors become visible in order, see events.py, so nothing
        below either can appear later).
        """
        heard = sorted(heard, key=lambda event: event["cursor"])
        verified = heard[-1]["cursor"] if heard else cursor
        found = bool(heard)
        while True:
            end, events = await database_sync_to_async(self.fetch_batch)(cursor, up_to_end)
            final = len(events) < REPLAY_BATCH
            batch = {event["cursor"]: event for event in events}
            while heard and (final or heard[0]["cursor"] <= events[-1]["cursor"]):
                event = heard.pop(0)
                batch.setdefault(event["cursor"], event)
            for number in sorted(batch):
                await self.send_event(batch[number])
            if events:
                found, cursor = True, events[-1]["cursor"]
                verified = max(verified, cursor)
            if final:
                break
        self.last_poll = time.monotonic()
        if end is None:
            return verified
        # With nothing found, the end alone: a client cursor beyond it (a reset database)
        # comes back lowered.
        return max(verified, end) if found else end

    def fetch_batch(self, cursor: int, with_end: bool) -> tuple[int | None, list[Event]]:
        end = selectors.last_cursor() if with_end else None  # read first: see send_log_after
        return end, [envelope(event) for event in self.visible_after(cursor, REPLAY_BATCH)]

    # --- Sending ------------------------------------------------------------------------------

    async def send_event(self, event: Event) -> None:
        cursor = event["cursor"]
        if (
            self.accepts(event)
            and not self.delivered.sent(cursor)
            and not self.delivered.covers(cursor)
        ):
            await self.send(self.shown(event))
            self.delivered.record(cursor)

    async def deliver_live(self, events: list[Event]) -> None:
        delivered = self.delivered
        fresh = [event for event in events if not delivered.sent(event["cursor"])]
        ahead = [event for event in fresh if event["cursor"] > delivered.verified]
        for event in fresh:
            if delivered.covers(event["cursor"]):
                # Everything visible up to `verified` went out already and the log did not show
                # us this one (an agent told that a conversation left their team): send it as
                # heard. At or below `floor` the client has it or asked not to get it.
                await self.send(self.shown(event))
                delivered.record(event["cursor"])
        if not ahead:
            return
        tail = log_tail()
        if await tail.reach(max(event["cursor"] for event in ahead)) and tail.holds_after(
            delivered.verified
        ):
            await self.send_from_tail(tail, ahead)
        else:  # too far behind the process's window: read the log for this client alone
            verified = await self.send_log_after(delivered.verified, up_to_end=False, heard=ahead)
            delivered.cover(delivered.floor, verified)

    async def send_from_tail(self, tail: LogTail, heard: list[Event]) -> None:
        """Everything this client's groups heard after its verified cursor, in order, from the
        process's copy of the log; then the client is complete up to the tail's end."""
        end = tail.end
        for event in tail.after(self.delivered.verified, self.groups):
            if event["cursor"] <= end:
                await self.send_event(event)
        for event in heard:  # heard through a group the log no longer names (a transfer)
            await self.send_event(event)
        self.delivered.cover(self.delivered.floor, end)
