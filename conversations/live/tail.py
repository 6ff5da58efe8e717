"""One process's view of the end of the event log, shared by all of its sockets.

A live event is a wake-up, not the truth (see consumers.py): before sending cursor N a
socket must know every event below N it may see. Asking the database once per socket per
event costs a query for every recipient of every message. Instead each process keeps the
tail of the log in memory: when a socket hears cursor N, the tail reads the log up to N
once, in cursor order and without gaps (events.py guarantees cursors become visible in
order), and every socket of the process takes its share from memory, indexed by the
Channels groups each event was sent to.

A socket whose last complete cursor is older than the tail's window falls back to reading
the database itself, as on resume.

The wake-up itself travels once per process, not once per socket: the publisher sends one
`log.wake` to the Channels group "log", of which each process's tail is the only member,
and the tail wakes the local sockets whose groups the new events were sent to. A wake-up
carries a small batch's events themselves (a sequencing pass numbers a batch without gaps):
a tail whose window ends just below them takes them as they are. Wake-ups from different
publishers (two server processes, two request threads) can arrive out of cursor order: a
batch that leaves a gap is held, and the batch that fills it usually arrives a moment later;
only a gap still open after GAP_GRACE_SECONDS (a wake-up Redis lost) is read from the log.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from ..events import envelope, groups_for
from ..models import ConversationEvent
from ..selectors import last_cursor

logger = logging.getLogger(__name__)

LOG_GROUP = "log"
READ_BATCH = 1000
WINDOW = 20_000  # events held at most; older ones are dropped half a window at a time
# ... and for about this long: a socket that was away longer reads the database on resume
# anyway, and a busy desk logs thousands of events an hour, which a count alone would keep
# until the window is full (bench/soak.py saw that as a server's memory growing for 30 min).
WINDOW_SECONDS = 120.0
FORGET_EVERY_SECONDS = 10.0  # old events go in batches, not one by one
# How long a gap may wait for the wake-up that fills it before the log is read. Under load
# many wake-ups overtook an earlier one (bench/RESULTS.md), and each such read cost a query and held
# up the wake-ups behind it.
GAP_GRACE_SECONDS = 0.05
# A process that hears no wake-up for this long asks the log whether it missed any: one cheap
# query per process, only while idle, and live push resumes by itself after a Redis outage.
IDLE_CHECK_SECONDS = 2.0


def read_after(cursor: int, limit: int) -> list[tuple[int, tuple[str, ...], dict[str, Any]]]:
    """(cursor, groups, envelope) of sequenced events after `cursor`, oldest first."""
    events = (
        ConversationEvent.objects.filter(cursor__gt=cursor)
        .order_by("cursor")
        .select_related("conversation")[:limit]
    )
    return [(event.cursor, tuple(groups_for(event)), envelope(event)) for event in events]


class LogTail:
    """Every event with start < cursor <= end, by cursor and by group."""

    def __init__(self) -> None:
        self.start: int | None = None
        self.end: int | None = None
        self.events: dict[int, dict[str, Any]] = {}
        self.groups_of: dict[int, tuple[str, ...]] = {}
        self.order: list[int] = []
        self.added: deque[tuple[float, int]] = deque()  # (when, last cursor) of each batch
        self.by_group: dict[str, list[int]] = {}
        self.lock = asyncio.Lock()
        self.read_at = 0.0
        self.sockets: dict[str, set[Any]] = {}  # group -> local sockets in it
        self.early: dict[int, tuple[tuple[str, ...], dict[str, Any]]] = {}  # beyond a gap
        self.gap_checks: set[asyncio.Task[None]] = set()
        self.listener: asyncio.Task[None] | None = None

    # --- Local sockets -------------------------------------------------------------------

    async def register(self, socket: Any, group: str) -> None:
        """`socket.wake(cursor)` will be called when an event for `group` is logged."""
        self.sockets.setdefault(group, set()).add(socket)
        if self.listener is None or self.listener.done():
            joined = asyncio.get_running_loop().create_future()
            self.listener = asyncio.create_task(self._listen(joined))
            await joined  # in the "log" group before the socket's replay starts

    def unregister(self, socket: Any, group: str | None = None) -> None:
        groups = [group] if group else list(self.sockets)
        for name in groups:
            members = self.sockets.get(name)
            if members is not None:
                members.discard(socket)
                if not members:
                    del self.sockets[name]
        if not self.sockets and self.listener is not None:
            self.listener.cancel()
            self.listener = None

    async def _listen(self, joined: "asyncio.Future[None]") -> None:
        """Hear `log.wake`; if the channel layer fails, join again and catch everyone up."""
        layer = get_channel_layer()
        rejoined = False
        while True:
            channel = None
            try:
                channel = await layer.new_channel()
                await layer.group_add(LOG_GROUP, channel)
                if rejoined:  # wake-ups may have been missed meanwhile
                    await self.refresh(max_age=0)
                    await self._wake(set().union(*self.sockets.values()))
                else:
                    await self.open_window()
                if not joined.done():
                    joined.set_result(None)
                while True:
                    message = await self._receive_or_catch_up(layer, channel)
                    cursor = message.get("cursor")
                    if isinstance(cursor, int):
                        await self._wake_sockets(cursor, message.get("events") or [])
            except asyncio.CancelledError:
                raise
            except Exception:  # live delivery must go on; sockets also repair on ping
                logger.exception("the log tail lost its channel layer; joining again")
                if not joined.done():
                    joined.set_result(None)
                rejoined = True
                await asyncio.sleep(1)
            finally:
                if channel is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(layer.group_discard(LOG_GROUP, channel))

    async def _receive_or_catch_up(self, layer: Any, channel: str) -> dict[str, Any]:
        """The next wake-up; while none comes, catch up every IDLE_CHECK_SECONDS.

        The receive is never cancelled: the Redis Pub/Sub layer takes a cancelled receive for
        the consumer leaving, unsubscribes the channel and drops what the group sends until
        the next receive subscribes it again."""
        receiving = asyncio.ensure_future(layer.receive(channel))
        try:
            while not (await asyncio.wait({receiving}, timeout=IDLE_CHECK_SECONDS))[0]:
                await self._catch_up()
        except BaseException:
            receiving.cancel()
            raise
        return receiving.result()

    async def _catch_up(self) -> None:
        """No wake-up for a while. Redis may have lost some (Pub/Sub delivers at most once,
        and a reconnecting subscriber hears nothing meanwhile): if the log moved on, read it
        and wake the sockets it concerns, as a wake-up would have."""
        before = self.end
        if before is None:
            return
        head = await database_sync_to_async(last_cursor, thread_sensitive=False)()
        if head > before:
            await self.refresh(max_age=0)
            await self._wake_after(before)

    async def _wake_sockets(self, cursor: int, carried: list[list[Any]]) -> None:
        before = self.end
        if carried and self.end is not None:
            self._hold(carried)
            self._take_held()
            if self.end < cursor:  # overtaken: the missing wake-up is most likely on its way
                self._check_gap_later(cursor, since=self.end)
        elif not await self.reach(cursor):
            return
        await self._wake_after(before if before is not None else cursor - 1)

    async def _wake_after(self, start: int) -> None:
        """Wake the local sockets whose groups heard of the events after `start`."""
        woken: set[Any] = set()
        for number in self.order[bisect_right(self.order, start) :]:
            for group in self.groups_of.get(number, ()):
                woken.update(self.sockets.get(group, ()))
        await self._wake(woken)

    async def _wake(self, sockets: set[Any]) -> None:
        for socket in sockets:
            try:
                await socket.wake(self.end)
            except Exception:  # one socket's failure must not hold up the others
                logger.exception("waking a socket failed; it catches up on its next ping")

    def _hold(self, carried: list[list[Any]]) -> None:
        if len(self.early) > WINDOW:  # a gap never filled: the next read covers these anyway
            self.early.clear()
        for cursor, groups, event in carried:
            self.early[cursor] = (tuple(groups), event)

    def _take_held(self) -> None:
        """Add the held events that continue the window without a gap, unless a read is in
        flight (its rows would come after them twice: reach() takes them when it is done)."""
        if self.lock.locked() or self.end is None:
            return
        rows = []
        for cursor in sorted(self.early):
            if cursor <= self.end:
                del self.early[cursor]  # a read brought it already
            elif cursor == (rows[-1][0] if rows else self.end) + 1:
                rows.append((cursor, *self.early.pop(cursor)))
            else:
                break
        self._add(rows)

    def _check_gap_later(self, cursor: int, since: int) -> None:
        """Read the log up to `cursor` if no wake-up filled the gap meanwhile, then wake the
        sockets of everything after `since` (whoever added it: a read for a socket's repair
        wakes no one else)."""

        async def check() -> None:
            await asyncio.sleep(GAP_GRACE_SECONDS)
            await self.reach(cursor)
            await self._wake_after(since)

        task = asyncio.create_task(check())
        self.gap_checks.add(task)
        task.add_done_callback(self.gap_checks.discard)

    def holds_after(self, cursor: int) -> bool:
        return self.start is not None and self.start <= cursor

    async def reach(self, cursor: int) -> bool:
        """Read the log up to at least `cursor`; a burst of sockets shares one read."""
        if self.end is None or self.end < cursor:
            async with self.lock:
                if self.end is None:
                    self.start = self.end = cursor - 1  # the window opens just below
                while self.end < cursor:
                    if not await self._read():
                        break
        self._take_held()
        return self.end >= cursor

    async def open_window(self) -> None:
        """Start at the log's end before any socket replays: a socket that resumes from now
        is then inside the window, and its first live event comes from memory instead of a
        database read of its own."""
        async with self.lock:
            if self.end is None:
                self.start = self.end = await database_sync_to_async(
                    last_cursor, thread_sensitive=False
                )()

    async def refresh(self, max_age: float) -> None:
        """Read whatever was logged since, at most once per `max_age` seconds (repairs)."""
        if time.monotonic() - self.read_at < max_age:
            return
        async with self.lock:
            if self.end is None:
                self.start = self.end = await database_sync_to_async(
                    last_cursor, thread_sensitive=False
                )()
            await self._read()

    async def _read(self) -> int:
        rows = await database_sync_to_async(read_after, thread_sensitive=False)(
            self.end, READ_BATCH
        )
        self.read_at = time.monotonic()
        self._add(rows)
        return len(rows)

    def _add(self, rows: list[tuple[int, tuple[str, ...], dict[str, Any]]]) -> None:
        """Append events that follow the window's end, in cursor order."""
        for cursor, groups, event in rows:
            self.events[cursor] = event
            self.groups_of[cursor] = groups
            self.order.append(cursor)
            for group in groups:
                self.by_group.setdefault(group, []).append(cursor)
            self.end = cursor
        if rows:
            self.added.append((time.monotonic(), self.end))
        if len(self.order) > WINDOW:
            self._forget(self.order[WINDOW // 2])
        self._forget_old()

    def _forget_old(self) -> None:
        """Drop the events added more than WINDOW_SECONDS ago, FORGET_EVERY_SECONDS at a time."""
        now = time.monotonic()
        if not self.added or self.added[0][0] > now - WINDOW_SECONDS - FORGET_EVERY_SECONDS:
            return
        upto = None
        while self.added and self.added[0][0] <= now - WINDOW_SECONDS:
            upto = self.added.popleft()[1]
        if upto is not None:
            self._forget(upto)

    def _forget(self, upto: int) -> None:
        """Drop events at or below `upto`."""
        self.start = upto
        while self.added and self.added[0][1] <= upto:
            self.added.popleft()
        cut = bisect_right(self.order, upto)
        for cursor in self.order[:cut]:
            del self.events[cursor]
            del self.groups_of[cursor]
        del self.order[:cut]
        for group, cursors in list(self.by_group.items()):
            kept = cursors[bisect_right(cursors, upto) :]
            if kept:
                self.by_group[group] = kept
            else:
                del self.by_group[group]

    def after(self, cursor: int, groups: Iterable[str]) -> list[dict[str, Any]]:
        """Events after `cursor` sent to any of `groups`, oldest first."""
        found: set[int] = set()
        for group in groups:
            cursors = self.by_group.get(group)
            if cursors:
                found.update(cursors[bisect_right(cursors, cursor) :])
        return [self.events[number] for number in sorted(found)]


_tails: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LogTail]" = (
    weakref.WeakKeyDictionary()
)


def log_tail() -> LogTail:
    """The tail of the running event loop (one per server process; tests make new loops)."""
    loop = asyncio.get_running_loop()
    tail = _tails.get(loop)
    if tail is None:
        tail = _tails[loop] = LogTail()
    return tail
