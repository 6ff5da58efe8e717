"""What the widget costs a shop's visitors, on a real build: `collectstatic`, then uvicorn in
production mode (DEBUG off), asked over HTTP and by Chromium from another origin."""

import re
import subprocess
import sys
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from bench.widget_weight import ShopSite, measure
from tests.servers import ROOT, free_port, helpdesk_env, wait_until

YEAR = 365 * 24 * 3600
HASHED = re.compile(r"/static/helpdesk/(widget-app|widget|client)\.[0-9a-f]{12}\.(js|css)")


def get(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """Status, headers (any case) and the body as it came, compressed or not."""
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def build(django_db_setup, django_db_blocker, tmp_path_factory):
    """A helpdesk served from its collected static files, and a shop site that embeds it."""
    from django.db import connection

    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    port = free_port()
    helpdesk_url = f"http://127.0.0.1:{port}"
    shop = ShopSite(helpdesk_url)
    static_root = tmp_path_factory.mktemp("static")
    env = helpdesk_env(
        database_url,
        settings_redis_url(),
        STATIC_ROOT=str(static_root),
        HELPDESK_WIDGET_ORIGINS=shop.url.rstrip("/"),
        HELPDESK_PUBLIC_URL=helpdesk_url,
        # Earlier tests' calls from 127.0.0.1 share the rate counters in Redis.
        **{f"HELPDESK_RATE_{scope}": "1000000/min" for scope in UNLIMITED_SCOPES},
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=300,
    )  # fmt: skip
    log = open(tmp_path_factory.mktemp("log") / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "helpdesk.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_until(lambda: answers(f"{helpdesk_url}/healthz"), 30, "the built server")
    yield {"helpdesk": helpdesk_url, "shop": shop.url, "static_root": Path(static_root)}
    server.terminate()
    server.wait(timeout=10)
    log.close()
    shop.server.shutdown()


UNLIMITED_SCOPES = (
    "WIDGET_SESSIONS",
    "WIDGET_AVAILABILITY",
    "WIDGET_CONVERSATIONS",
    "WIDGET_MESSAGES",
    "WIDGET_CUSTOMER",
    "WIDGET_ARTICLES",
    "WIDGET_PAGEVIEWS",
    "SOCKET_CONNECT",
)


def settings_redis_url() -> str:
    from django.conf import settings

    return settings.REDIS_URL


def loader(build) -> tuple[Message, str]:
    status, headers, body = get(f"{build['helpdesk']}/static/helpdesk/widget.js")
    assert status == 200
    return headers, body.decode()


def test_the_embed_url_is_a_short_cached_loader_naming_hashed_files(build):
    headers, script = loader(build)

    assert "javascript" in headers["Content-Type"]
    assert headers["Cache-Control"] == "public, max-age=300"  # a deploy shows within minutes
    assert headers["Access-Control-Allow-Origin"] == "*"
    names = {match.group(1) + "." + match.group(2) for match in HASHED.finditer(script)}
    assert names == {"widget-app.js", "widget.css", "client.js"}
    assert len(script) < 10_000  # the code of the widget is not in it


def test_the_loader_carries_the_strings(build):
    _headers, script = loader(build)

    assert '"Open chat": "Sohbeti aç"' in script or '"Open chat":"Sohbeti aç"' in script
    assert '"max_message_length": 10000' in script


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_hashed_files_come_compressed_and_cached_for_good(build, encoding):
    _headers, script = loader(build)
    paths = {match.group(0) for match in HASHED.finditer(script)}
    assert len(paths) == 3
    for path in paths:
        status, headers, body = get(build["helpdesk"] + path, **{"Accept-Encoding": encoding})

        assert status == 200
        assert headers["Content-Encoding"] == encoding, path
        cache = headers["Cache-Control"]
        assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache)[1]) >= YEAR
        assert headers["Access-Control-Allow-Origin"] == "*"  # a module from another origin
        raw = (build["static_root"] / path.removeprefix("/static/")).stat().st_size
        assert len(body) < raw * 0.4, path


def test_the_loader_is_compressed_too(build):
    status, headers, body = get(
        f"{build['helpdesk']}/static/helpdesk/widget.js", **{"Accept-Encoding": "gzip"}
    )

    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert len(body) < 5_000


def test_a_shop_visitor_gets_the_widget_in_two_round_trips_without_preflights(
    browser, build, billing, transactional_db
):
    """Chromium on the shop's origin: the launcher after the loader and one parallel batch,
    the public reads without the token (no preflight), and a second page view served from
    the browser's cache."""
    figures = measure(browser, build["shop"], build["helpdesk"])
    first, message, second = (
        figures["first view"],
        figures["first message"],
        figures["second view"],
    )

    assert first["round_trips"] == 2, first
    assert first["preflights"] == 0, first
    assert "GET /api/v1/widget/strings" not in first["sent"]
    assert first["requests"] == 4, first  # the loader; then the bundle, client.js, stylesheet
    assert first["kb"] < 40, first
    # POSTs of JSON preflight (sessions, conversations); the public reads never do.
    assert all("availability" not in sent for sent in message["sent"] if sent.startswith("OPT"))
    assert not [sent for sent in second["sent"] if sent.startswith("GET /static/")], second
    assert "OPTIONS /api/v1/widget/availability" not in second["sent"], second
