"""A websocket client as the widget and the workspace behave: it resumes from its cursor,
and when its socket drops it reconnects (here: to the next server) and resumes again."""

import itertools
import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

ORIGIN = "http://127.0.0.1"
PING_SECONDS = 2.0


class ResumingClient:
    """Collects every cursored event it is sent; `closes` holds the close codes it saw."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = itertools.cycle(urls)
        self.events: list[dict[str, Any]] = []
        self.closes: list[int | None] = []
        self.cursor: int | None = None
        self.resumed = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, after: int | None = None) -> "ResumingClient":
        self.cursor = after
        self.thread.start()
        assert self.resumed.wait(30), "the first resume never completed"
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def cursors(self) -> list[int]:
        return [event["cursor"] for event in self.events]

    def _run(self) -> None:
        url = next(self.urls)
        while not self.stopping.is_set():
            try:
                self._session(url)
            except (OSError, ConnectionClosed, TimeoutError) as error:
                code = getattr(getattr(error, "rcvd", None), "code", None)
                self.closes.append(code)
            url = next(self.urls)  # the client's backoff, shortened: the other server
            time.sleep(0.2)

    def _session(self, url: str) -> None:
        with connect(url, origin=ORIGIN, open_timeout=5, close_timeout=1) as socket:
            socket.send(json.dumps({"type": "resume", "after": self.cursor}))
            pinged = time.monotonic()
            while not self.stopping.is_set():
                if time.monotonic() - pinged > PING_SECONDS:  # as the widget does, more often
                    socket.send(json.dumps({"type": "ping"}))
                    pinged = time.monotonic()
                try:
                    frame = json.loads(socket.recv(timeout=0.5))
                except TimeoutError:
                    continue
                self._take(frame)

    def _take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "resumed":
            if self.cursor is None:
                self.cursor = frame.get("cursor")
            self.resumed.set()
        elif isinstance(frame.get("cursor"), int):
            self.events.append(frame)
            self.cursor = frame["cursor"]


def wait_for_close(url: str, timeout: float = 10) -> int | None:
    """Open a socket and return the code it is closed with (None: it stayed open)."""
    try:
        with connect(url, origin=ORIGIN, open_timeout=timeout, close_timeout=1) as socket:
            socket.send(json.dumps({"type": "resume", "after": None}))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                socket.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return None
