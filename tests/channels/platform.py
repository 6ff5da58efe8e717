"""A local HTTP server standing in for a platform's API (or an api inbox's webhook target):
it records every request and answers with the documented shapes (fixtures/), or with the
statuses a test scripts (a 500 first, then the real answer). `routes` answer given paths
(Telegram's getFile, WhatsApp's media URL) and `files` serve bytes to GETs (the platforms'
file downloads)."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakePlatform:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[tuple[int, Any]] = []  # answers to give first, in order
        self.answer: tuple[int, Any] = (200, {})  # then this one, every time
        self.routes: dict[str, tuple[int, Any]] = {}  # JSON answers by path (GET or POST)
        self.files: dict[str, bytes] = {}  # bytes served to a GET of this path
        self._lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded("POST", self.path, dict(self.headers), self.rfile.read(length))
                status, body = platform._record(recorded)
                self._answer(status, json.dumps(body).encode(), "application/json")

            def do_GET(self) -> None:  # noqa: N802
                recorded = Recorded("GET", self.path, dict(self.headers), b"")
                status, body = platform._record(recorded)
                path = self.path.partition("?")[0]
                if path in platform.files:
                    self._answer(200, platform.files[path], "application/octet-stream")
                else:
                    self._answer(status, json.dumps(body).encode(), "application/json")

            def _answer(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _record(self, recorded: Recorded) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(recorded)
            path = recorded.path.partition("?")[0]
            if path in self.routes:
                return self.routes[path]
            if recorded.method == "GET":
                return (404, {"error": "not found"})
            return self.script.pop(0) if self.script else self.answer

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Recorded]:
        """The first `count` requests, once they came (AssertionError if they did not)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"{len(self.requests)} of {count} requests came"
        return self.requests[:count]

    def start(self) -> "FakePlatform":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
