"""Shared fixtures and factories. The suite runs against real PostgreSQL and Redis."""

import itertools
import os
from urllib.parse import urlparse

import pytest

_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    """Stop with one clear sentence when PostgreSQL or Redis is not there."""
    import psycopg
    import redis

    database_url = os.environ["DATABASE_URL"]
    try:
        # Connect to the maintenance database: the test database does not exist yet.
        parsed = urlparse(database_url)
        psycopg.connect(parsed._replace(path="/postgres").geturl(), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing here
        pytest.exit(
            f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} "
            f"(DATABASE_URL={database_url}): start it or point DATABASE_URL at one. [{exc}]",
            returncode=3,
        )
    redis_url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(
            f"Redis is not reachable at {redis_url}: start it or point REDIS_URL at one. [{exc}]",
            returncode=3,
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say in one line which throwaway servers the run started (tests/settings.py)."""
    from tests.servers import STARTED

    if STARTED:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "Nothing answered at the configured URLs: started a throwaway "
            + " and a throwaway ".join(STARTED)
        )


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


@pytest.fixture(autouse=True, scope="session")
def _empty_cache(django_db_setup):
    """The test database starts afresh each run and its ids start at 1 again; keys an earlier
    run left in Redis (a customer's presence, say) must not speak for this run's rows."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves the last request's language active in the thread: a test that
    asked for Turkish must not make the next one speak it."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def make_team(db):
    from conversations.models import Team

    def make(name: str | None = None, **fields):
        return Team.objects.create(name=name or unique("team"), **fields)

    return make


@pytest.fixture
def make_agent(db):
    from django.contrib.auth import get_user_model

    from agents.models import Agent

    def make(
        email: str | None = None,
        *,
        teams=(),
        capacity: int = 3,
        presence: str = "offline",
        **user_fields,
    ):
        email = email or f"{unique('agent')}@example.com"
        user = get_user_model().objects.create_user(
            username=email, email=email, password="pw-for-tests", is_staff=True, **user_fields
        )
        agent = Agent.objects.create(user=user, capacity=capacity, presence=presence)
        agent.teams.set(teams)
        return user

    return make


@pytest.fixture
def make_customer(db):
    from conversations.services import customer_create

    def make(name: str = "Ayşe Yılmaz", email: str | None = None, **fields):
        return customer_create(
            name=name, email=email or f"{unique('customer')}@example.com", **fields
        )

    return make


@pytest.fixture
def start_conversation(db, make_customer):
    from conversations.services import conversation_start

    def start(customer=None, body: str = "Hello, I need help", **fields):
        conversation, _ = conversation_start(
            customer=customer or make_customer(), body=body, client_id=unique("c"), **fields
        )
        return conversation

    return start


# --- The teams, agents and clients many modules meet -----------------------------------------


@pytest.fixture
def support(make_team):
    """The default team: a conversation started without a team lands here."""
    return make_team("Support", is_default=True)


@pytest.fixture
def billing(make_team):
    """A second team, not the default."""
    return make_team("Billing")


@pytest.fixture
def alice_capacity() -> int:
    """How many open conversations Alice takes; a module overrides it to give her another."""
    return 3


@pytest.fixture
def alice(make_agent, support, alice_capacity):
    """An agent of Support."""
    return make_agent(
        "alice@example.com", teams=[support], first_name="Alice", capacity=alice_capacity
    )


@pytest.fixture
def logged_in(db):
    """`logged_in(user)`: an API client with the user's session, as the workspace has."""
    from rest_framework.test import APIClient

    def login(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def alice_client(logged_in, alice):
    return logged_in(alice)


@pytest.fixture
def staff(make_agent):
    """A team lead who is a superuser: the admin shows her everything."""
    return make_agent("lead@example.com", first_name="Lea", last_name="Lead", is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    """Django's test client, logged in to the admin as `staff`."""
    client.force_login(staff)
    return client


@pytest.fixture
def fresh_rate_limits():
    """Rate-limit counters live in the cache (Redis here): a test using it starts from zero.
    Modules that call rate-limited endpoints use it for every test (pytestmark)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- A real ASGI server (HTTP + websockets) and a real browser -------------------------------


@pytest.fixture
def live_server_url(transactional_db):
    """uvicorn serving helpdesk.asgi in a thread, on a free port, against the test database."""
    import socket
    import threading
    import time

    import uvicorn
    from channels.layers import channel_layers
    from django.conf import settings

    from helpdesk.asgi import application

    # A channel layer of its own: channels-redis lets one event loop at a time receive, and
    # the previous server's loop (with its log tail listening) is gone but not forgotten.
    channel_layers.backends.clear()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws_max_size=settings.HELPDESK_WS_MAX_BYTES,
            proxy_headers=False,  # as in production: HELPDESK_TRUSTED_PROXIES decides
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    channel_layers.backends.clear()


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Server and worker threads keep database connections the tests cannot reach; end
    them once the session is over, so the test database can be dropped."""
    yield
    from django.db import connection
    from django.db.backends.base.creation import TEST_DATABASE_PREFIX

    # A session without database tests (one file of pure checks) never made a test database.
    made = connection.settings_dict["NAME"].startswith(TEST_DATABASE_PREFIX)
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql" and made:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Debian's chromium through Playwright. Skips (saying why) without it, except in CI."""
    if not os.path.exists(CHROMIUM):
        message = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("HELPDESK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()
