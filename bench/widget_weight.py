"""What the widget costs a shop's visitor: bytes, requests, round trips and CORS preflights.

Serves a build of a tree (production mode: DEBUG off; `collectstatic` first where the tree
has hashed static files), opens a shop page on another origin that embeds the widget with
its one script tag, in Chromium, and counts what Chromium's network log (DevTools protocol)
saw going to the helpdesk:

- first view, until the launcher shows: requests, bytes on the wire (compressed, headers
  included), the round trips in sequence (the longest chain of requests each started after
  the one before had finished), preflights;
- the first message (open the chat, send): the same, for everything after the launcher;
- a second page view of the same shop: what still goes over the network.

    .venv/bin/python bench/widget_weight.py                  # this tree
    .venv/bin/python bench/widget_weight.py --tree /work/main  # another checkout (before)

Figures in bench/RESULTS.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database, step  # noqa: E402
from tests.servers import free_port, helpdesk_env, wait_until  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SHOP_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>A shop</h1>
<script src="{helpdesk}/static/helpdesk/widget.js" data-helpdesk="{helpdesk}"
        data-team="billing" async></script>
</body></html>"""


@dataclass
class Request:
    url: str
    method: str
    preflight: bool
    start: float
    end: float | None = None
    bytes: int = 0
    from_cache: bool = False


@dataclass
class NetworkLog:
    """Chromium's network events (CDP), the helpdesk's requests only."""

    origin: str
    requests: dict[str, Request] = field(default_factory=dict)

    def attach(self, cdp) -> None:
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.on("Network.requestServedFromCache", self.cached)
        cdp.on("Network.responseReceived", self.received)

    def sent(self, event: dict) -> None:
        request = event["request"]
        if not request["url"].startswith(self.origin):
            return
        preflight = event.get("type") == "Preflight" or request["method"] == "OPTIONS"
        self.requests[event["requestId"]] = Request(
            request["url"], request["method"], preflight, event["timestamp"]
        )

    def finished(self, event: dict) -> None:
        if request := self.requests.get(event["requestId"]):
            request.end, request.bytes = event["timestamp"], int(event["encodedDataLength"])

    def cached(self, event: dict) -> None:
        if request := self.requests.get(event["requestId"]):
            request.from_cache = True

    def received(self, event: dict) -> None:
        if (request := self.requests.get(event["requestId"])) and event["response"].get(
            "fromDiskCache"
        ):
            request.from_cache = True

    def take(self) -> list[Request]:
        """The requests so far, forgotten by the next take()."""
        taken, self.requests = list(self.requests.values()), {}
        return taken


def round_trips(requests: list[Request]) -> int:
    """The longest chain of requests, each started after the previous one had finished."""
    done = sorted((r for r in requests if r.end is not None), key=lambda r: r.start)
    depth: dict[int, int] = {}
    for i, request in enumerate(done):
        before = [depth[j] for j in range(i) if done[j].end <= request.start]
        depth[i] = 1 + max(before, default=0)
    return max(depth.values(), default=0)


def summary(requests: list[Request]) -> dict:
    network = [r for r in requests if not r.from_cache]
    return {
        # What went over the network, as "METHOD /path" ("OPTIONS …" for a preflight).
        "sent": [f"{r.method} {urlsplit(r.url).path}" for r in network],
        "requests": len([r for r in network if not r.preflight]),
        "preflights": len([r for r in network if r.preflight]),
        "kb": round(sum(r.bytes for r in network) / 1024, 1),
        "round_trips": round_trips(network),
        "from_cache": len([r for r in requests if r.from_cache]),
    }


def measure(browser, shop_url: str, helpdesk_url: str) -> dict[str, dict]:
    """First view, first message and second view of the shop page, in a fresh profile."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log = NetworkLog(helpdesk_url)
    log.attach(context.new_cdp_session(page))
    figures = {}

    page.goto(shop_url)
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible(timeout=15000)
    page.wait_for_load_state("networkidle")
    figures["first view"] = summary(log.take())

    launcher.click()
    composer = page.get_by_role("textbox", name="Message")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/widget/conversations") and r.request.method == "POST"
    ):
        composer.fill("Where is my order?")
        composer.press("Enter")
    page.wait_for_load_state("networkidle")
    time.sleep(1)  # the socket's connect, the messages' reload
    figures["first message"] = summary(log.take())

    page.goto(shop_url)  # the chat was left open: the launcher now closes it
    expect(page.get_by_role("button", name="Close chat")).to_be_visible(timeout=15000)
    page.wait_for_load_state("networkidle")
    figures["second view"] = summary(log.take())
    context.close()
    return figures


class ShopSite:
    """A site of its own origin (localhost, where the helpdesk is 127.0.0.1) embedding it."""

    def __init__(self, helpdesk_url: str):
        page = SHOP_PAGE.format(helpdesk=helpdesk_url).encode()

        class ShopPage(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def serve(tree: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    """uvicorn on the tree's helpdesk.asgi, after its collectstatic where it has one."""
    if (tree / "helpdesk" / "static_storage.py").exists():  # hashed, compressed files
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=tree, env=env, check=True,
        )  # fmt: skip
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "helpdesk.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ],
        cwd=tree, env=env,
    )  # fmt: skip
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "the server")
    return server


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_bench_widget"
        ),
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    helpdesk_url = f"http://127.0.0.1:{port}"
    shop = ShopSite(helpdesk_url)
    with tempfile.TemporaryDirectory() as static_root:
        env = helpdesk_env(
            args.database,
            args.redis,
            STATIC_ROOT=static_root,
            HELPDESK_WIDGET_ORIGINS=shop.url.rstrip("/"),
            HELPDESK_PUBLIC_URL=helpdesk_url,
            CHANNELS_PREFIX="bench-widget",
            CACHE_PREFIX="bench-widget",
            LOG_LEVEL="WARNING",
        )
        step(f"database {args.database}")
        recreate_database(args.database, env)
        subprocess.run(
            [sys.executable, "manage.py", "create_agent", "ada@example.com", "--team", "billing"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        step(f"serving {args.tree} at {helpdesk_url}")
        server = serve(args.tree.resolve(), env, port)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                figures = measure(browser, shop.url, helpdesk_url)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"\n{'':<14} {'requests':>8} {'KB':>6} {'round trips':>11} {'preflights':>10} {'cached':>6}"
    )
    for name, row in figures.items():
        print(
            f"{name:<14} {row['requests']:>8} {row['kb']:>6} {row['round_trips']:>11}"
            f" {row['preflights']:>10} {row['from_cache']:>6}"
        )
    for name, row in figures.items():
        print(f"\n{name}, over the network:\n  " + "\n  ".join(row["sent"]))


if __name__ == "__main__":
    main()
