"""ASGI entry point: HTTP through Django, websockets through Channels (origin-checked)."""

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, running the middleware chain and the view in one thread hop.

    Every view here is synchronous. Django's own handler runs each middleware written as a
    MiddlewareMixin in async mode, which sends process_request and process_response to the
    request's thread and back one at a time: some twenty thread switches per request, a
    large part of the CPU a message POST costs. Built synchronously and entered once on the
    request's thread (thread_sensitive, where Django runs sync views anyway), the chain runs
    exactly the same code with one switch there and one back. An async view would still
    work: Django's synchronous path runs it with async_to_sync.
    """

    MAX_IDLE_THREADS = 64

    def __init__(self) -> None:
        super().__init__()
        self.idle_threads: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        """As Django's, but a request's thread is reused by later requests.

        Django gives every request a thread of its own for its synchronous code (so that its
        database connection stays on one thread), started for the request and joined by
        another new thread afterwards. Here each request borrows an idle one-thread
        executor: still one thread per request at a time, without two thread starts.
        """
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = (
            self.idle_threads.pop()
            if self.idle_threads
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        )
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self.idle_threads) < self.MAX_IDLE_THREADS:
                self.idle_threads.append(executor)
            else:
                executor.shutdown(wait=False)  # its thread ends once its last call returns


django.setup(set_prefix=False)
django_asgi_app = OneHopASGIHandler()  # Django is set up before the consumers are imported

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from conversations import events  # noqa: E402
from conversations.live.routing import agent_socket, customer_socket  # noqa: E402
from helpdesk.body_limit import limit_body  # noqa: E402
from reports.routing import reports_socket  # noqa: E402


def watching(watchers: dict[str, Any], default: Any) -> Any:
    """One path, a socket per `?watch=<name>`: the reports dashboard opens
    /ws/agent/?watch=reports (shared/API.md), which the reports app serves."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        socket = watchers.get(query.get("watch", [""])[0], default)
        return await socket(scope, receive, send)

    return app


router = ProtocolTypeRouter(
    {
        "http": limit_body(django_asgi_app),  # 413 before an oversize body is read
        "websocket": URLRouter(
            [
                path("ws/customer/", customer_socket),
                path("ws/agent/", watching({"reports": reports_socket}, agent_socket)),
                re_path(r"", WebsocketDenier.as_asgi()),  # any other path: refused, not a 500
            ]
        ),
    }
)


# What start-up loaded (Django, the URLconf, the models) lives as long as the process: the
# collector need not scan it again and again while the sockets' short-lived objects come and go.
gc.collect()
gc.freeze()
# A request allocates thousands of objects, so the default thresholds (700, 10, 10) ran a
# young collection several times per request and a full one over every socket's state every
# few seconds. With 1,000 sockets at 100 messages/s fewer collections saved server CPU and
# cut the p99 latency (bench/live.py; figures in bench/RESULTS.md). Cycles are still
# collected, in fewer and larger passes.
gc.set_threshold(20_000, 20, 20)
# ... so rarely that a closed websocket's server side (a cycle in the websockets library,
# holding its compression buffers outside Python's heap) waited for a full pass for many
# minutes: bench/soak.py saw a server grow by a quarter in half an hour. A full pass of the
# unfrozen heap takes milliseconds; once a minute frees them all.
FULL_COLLECTION_SECONDS = 60.0


async def collect_garbage_regularly() -> None:
    while True:
        await asyncio.sleep(FULL_COLLECTION_SECONDS)
        gc.collect()


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    """The router. On the server's event loop's first call it remembers the loop (for
    broadcasts from request threads) and starts the regular full collections."""
    loop = asyncio.get_running_loop()
    if events.server_loop is not loop:
        events.server_loop = loop
        loop.create_task(collect_garbage_regularly())
    return await router(scope, receive, send)
