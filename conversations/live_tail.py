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
"""

import asyncio
import time
import weakref
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async

from .events import envelope, groups_for
from .models import ConversationEvent

READ_BATCH = 1000
WINDOW = 20_000  # events held; older ones are dropped half a window at a time


def read_after(cursor: int, limit: int) -> list[tuple[int, tuple[str, ...], dict[str, Any]]]:
    """(cursor, groups, envelope) of sequenced events after `cursor`, oldest first."""
    events = (
        ConversationEvent.objects.filter(cursor__gt=cursor)
        .order_by("cursor")
        .select_related("conversation")[:limit]
    )
    return [(event.cursor, tuple(groups_for(event)), envelope(event)) for event in events]


def last_cursor() -> int:
    event = ConversationEvent.objects.filter(cursor__isnull=False).order_by("-cursor").first()
    return event.cursor if event else 0


class LogTail:
    """Every event with start < cursor <= end, by cursor and by group."""

    def __init__(self) -> None:
        self.start: int | None = None
        self.end: int | None = None
        self.events: dict[int, dict[str, Any]] = {}
        self.order: list[int] = []
        self.by_group: dict[str, list[int]] = {}
        self.lock = asyncio.Lock()
        self.read_at = 0.0

    def holds_after(self, cursor: int) -> bool:
        return self.start is not None and self.start <= cursor

    async def reach(self, cursor: int) -> bool:
        """Read the log up to at least `cursor`; a burst of sockets shares one read."""
        if self.end is not None and self.end >= cursor:
            return True
        async with self.lock:
            if self.end is None:
                self.start = self.end = cursor - 1  # the window opens just below
            while self.end < cursor:
                if not await self._read():
                    break
        return self.end >= cursor

    async def refresh(self, max_age: float) -> None:
        """Read whatever was logged since, at most once per `max_age` seconds (repairs)."""
        if time.monotonic() - self.read_at < max_age:
            return
        async with self.lock:
            if self.end is None:
                self.start = self.end = await database_sync_to_async(last_cursor)()
            await self._read()

    async def _read(self) -> int:
        rows = await database_sync_to_async(read_after, thread_sensitive=False)(
            self.end, READ_BATCH
        )
        self.read_at = time.monotonic()
        for cursor, groups, event in rows:
            self.events[cursor] = event
            self.order.append(cursor)
            for group in groups:
                self.by_group.setdefault(group, []).append(cursor)
            self.end = cursor
        if len(self.order) > WINDOW:
            self._forget(self.order[WINDOW // 2])
        return len(rows)

    def _forget(self, upto: int) -> None:
        """Drop events at or below `upto`."""
        self.start = upto
        cut = bisect_right(self.order, upto)
        for cursor in self.order[:cut]:
            del self.events[cursor]
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
