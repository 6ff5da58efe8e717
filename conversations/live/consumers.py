"""The websockets (shared/API.md "Websockets"): authenticate, join groups, resume, dispatch.

The transport only: authenticate, join groups, parse client frames, send. What each client
has been sent and how the rest reaches it, exactly once and in cursor order, is its
EventStream's (delivery.py).

Presence: the agent socket emits `agent_socket_opened` / `agent_socket_seen` /
`agent_socket_closed`; the agents app keeps the connection count (this app never imports it).
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import redis
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from .. import selectors
from ..files.links import customer_reader, event_with_links, user_reader
from ..models import AuthorKind, Customer, Team
from ..serializers import author_shape, customer_event
from ..throttling import hit_scope, scope_ip
from . import caps, presence, visitors
from .access import user_group
from .delivery import EventStream, database_sync_to_async
from .tail import log_tail

logger = logging.getLogger(__name__)


MAX_MESSAGE_CHARS = 64 * 1024  # inbound frames; clients only send small control messages
MAX_SUBSCRIPTIONS = 50
TARGET_CACHE_SECONDS = 30.0  # how long a typing permission check is reused
ACCESS_CHECK_SECONDS = 60.0  # a staff socket's ping checks its user's access this often
HEARTBEAT_WRITE_SECONDS = 20.0  # at most one presence write per socket per this interval
MAX_CURSOR = 2**63 - 1

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY = 4429  # too many handshakes from this address, or sockets for this owner
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013  # the channel layer (Redis) or the database is not answering

# Sent from a worker thread with `user_id` and `connection` (the socket's channel name).
agent_socket_opened = Signal()
agent_socket_seen = Signal()
agent_socket_closed = Signal()


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class TokenBucket:
    """A client may send `rate` messages a second, in bursts of `burst`."""

    def __init__(self, rate: float = 10.0, burst: float = 30.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class EventStreamConsumer(AsyncJsonWebsocketConsumer):
    """What both sockets share; subclasses say who the client is and what it may see."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.authenticated = False
        self.joined: set[str] = set()  # groups whose logged events the client hears
        self.listening: set[str] = set()  # channel-layer only: typing, access changes
        self.stream = EventStream(
            send=self.send_json,
            visible_after=self.visible_after,
            accepts=self.accepts,
            shown=self.shown,
            groups=self.joined,
        )
        self.recent_uncursored: deque[str] = deque(maxlen=128)
        self.bucket = TokenBucket()
        self.targets: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self.last_heartbeat = 0.0
        self.owner = ""
        self.slot: int | None = None
        self.slot_keeper: asyncio.Task[None] | None = None

    # --- To be provided by each socket ---------------------------------------------------

    async def authenticate(self) -> bool:
        raise NotImplementedError

    async def client_groups(self) -> list[str]:
        raise NotImplementedError

    def visible_after(self, cursor: int, limit: int) -> list[Any]:
        """Sequenced events after `cursor` this client may see, oldest first (sync, DB)."""
        raise NotImplementedError

    def typing_target(self, conversation_id: int) -> dict[str, Any] | None:
        """{"customer_id", "team_id", "assignee_id"} of a conversation the client may see."""
        raise NotImplementedError

    def typing_groups(self, target: dict[str, Any], content: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def author(self) -> dict[str, Any]:
        raise NotImplementedError

    def socket_owner(self) -> tuple[str, int]:
        """Whose open sockets are capped, and at how many (caps.py)."""
        raise NotImplementedError

    def accepts(self, event: dict[str, Any]) -> bool:
        """A last check on what reaches this client."""
        return True

    async def may_hear(self, event: dict[str, Any]) -> bool:
        """A last check on an event without a cursor (typing, presence)."""
        return True

    def listened_groups(self) -> list[str]:
        """Channel-layer groups the client listens to besides its logged events' groups."""
        return []

    def shown(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as this client sees it."""
        return event

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        return {"resume": self.on_resume, "typing": self.on_typing, "ping": self.on_ping}

    async def opened(self) -> None:
        pass

    async def seen(self) -> None:
        pass

    async def closed(self) -> None:
        pass

    # --- Connection ----------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if hasattr(self, "channel_name"):
                raise
            # The channel layer could not give this socket a channel (Redis is down): answer
            # the handshake with "try again later"; the client reconnects with backoff and
            # resumes from its cursor. Everything over HTTP goes on working meanwhile.
            logger.warning("websocket refused: the channel layer is not answering", exc_info=True)
            await refuse_for_now(receive, send)

    async def dispatch(self, message: dict[str, Any]) -> None:
        try:
            await super().dispatch(message)
        except (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError):
            # PostgreSQL or Redis is out of reach: close with a code the client knows to retry
            # on (it resumes from its cursor), rather than dropping the socket with 1006.
            logger.warning(
                "websocket closed: the database or Redis is not answering", exc_info=True
            )
            if message.get("type") == "websocket.connect":
                await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def connect(self) -> None:
        # Counted before the token is looked up: guessing tokens costs handshakes too.
        if await in_cache(hit_scope, "socket_connect", scope_ip(self.scope)) is not None:
            await self.refuse(
                CLOSE_TOO_MANY, "rate_limited", _("Too many connections; try again in a minute.")
            )
            return
        if not await self.authenticate():
            # Accept, then close with 4401: a browser can read the code, not a refused handshake.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if not await self.take_slot():
            await self.refuse(
                CLOSE_TOO_MANY, "too_many_sockets", _("Too many open connections; close one.")
            )
            return
        self.authenticated = True
        # Groups and presence before the handshake completes: once the client's socket is
        # open, nothing published from then on can miss it.
        await self.join(await self.client_groups())
        for group in self.listened_groups():
            await self.listen(group)
        await self.opened()
        await self.accept()

    async def refuse(self, code: int, error: str, message: str) -> None:
        """Accept, say why in an `error` event, close with `code` (readable by a browser)."""
        await self.accept()
        await self.send_error(error, message)
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        log_tail().unregister(self)
        was_open, self.authenticated = self.authenticated, False
        for group in self.joined | self.listening:
            with contextlib.suppress(Exception):  # a dead Redis forgot the membership anyway
                await self.channel_layer.group_discard(group, self.channel_name)
        self.joined.clear()
        self.listening.clear()
        self.stream.close()
        await self.best_effort(self.give_back_slot)
        if was_open:
            await self.best_effort(self.closed)

    @staticmethod
    async def best_effort(step: Callable[[], Awaitable[None]]) -> None:
        """With Redis or PostgreSQL away, a closed socket's slot and presence expire by
        themselves; a failure must not keep the consumer from ending."""
        try:
            await step()
        except Exception:
            logger.warning("closing a socket: %s failed", step.__name__, exc_info=True)

    # --- The cap on open sockets per owner (caps.py) -----------------------------------------

    async def take_slot(self) -> bool:
        self.owner, cap = self.socket_owner()
        self.slot = await in_cache(caps.claim_slot, self.owner, self.channel_name, cap)
        if self.slot is None:
            return False
        self.slot_keeper = asyncio.create_task(self.keep_slot())
        return True

    async def keep_slot(self) -> None:
        """Refreshes the slot while the socket is open; a dead process stops, and it expires."""
        while self.slot is not None:
            await asyncio.sleep(caps.REFRESH_SECONDS)
            try:
                await in_cache(caps.refresh_slot, self.owner, self.slot, self.channel_name)
            except Exception:  # the cache being away must not end the socket
                logger.warning("socket slot refresh failed", exc_info=True)

    async def give_back_slot(self) -> None:
        if self.slot_keeper is not None:
            self.slot_keeper.cancel()
            self.slot_keeper = None
        if self.slot is not None:
            slot, self.slot = self.slot, None
            await in_cache(caps.release_slot, self.owner, slot, self.channel_name)

    async def join(self, groups: list[str]) -> None:
        for group in groups:
            if group not in self.joined:
                await self.channel_layer.group_add(group, self.channel_name)  # typing, presence
                await log_tail().register(self, group)  # logged events
                self.joined.add(group)

    async def regroup(self, groups: list[str]) -> None:
        """Leave the groups the client may no longer hear, join the new ones."""
        for group in self.joined - set(groups):
            self.joined.discard(group)
            log_tail().unregister(self, group)
            if group not in self.listening:
                await self.channel_layer.group_discard(group, self.channel_name)
        await self.join(groups)

    async def listen(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.listening.add(group)

    async def stop_listening(self, group: str) -> None:
        self.listening.discard(group)
        if group not in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    def query_param(self, name: str) -> str | None:
        values = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get(name)
        return values[0] if values else None

    # --- Client → server -----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.authenticated:
            return
        if text_data is None:
            await self.send_error("bad_request", _("Send JSON as text frames."))
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_error("too_large", _("That message is too large."))
            await self.close(code=CLOSE_TOO_BIG)
            return
        if not self.bucket.take():
            await self.send_error("rate_limited", _("Too many messages; slow down."))
            return
        await self.heartbeat()  # first, so a pong means the heartbeat is recorded
        try:
            await self.dispatch_client_message(text_data)
        except BadRequest as error:
            await self.send_error(error.code, error.message)

    async def dispatch_client_message(self, text_data: str) -> None:
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the limit
            raise BadRequest(_("Malformed JSON.")) from None
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self.handlers().get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise BadRequest(_("Unknown message type."))
        await handler(content)

    async def send_json(self, content: Any, close: bool = False) -> None:
        try:
            await super().send_json(content, close=close)
        except OSError:  # the client is gone; websocket.disconnect follows and cleans up
            logger.debug("send to a closed websocket dropped")

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": str(message)})

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})
        await self.stream.poll()

    async def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_WRITE_SECONDS:
            self.last_heartbeat = now
            await self.seen()

    # --- Resume ---------------------------------------------------------------

    async def on_resume(self, content: dict[str, Any]) -> None:
        after = content.get("after")
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_CURSOR
        ):
            raise BadRequest(_("`after` must be a cursor (a whole number) or null."))
        await self.stream.resume(after)

    async def wake(self, cursor: int) -> None:
        """Called by the process's log tail: events up to `cursor` concern our groups."""
        if self.authenticated:
            await self.stream.wake(cursor)

    # --- Live events (group messages) ------------------------------------------------------

    async def event_publish(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if (
            not self.authenticated
            or not isinstance(event, dict)
            or message.get("sender") == self.channel_name  # never echo typing to its author
            or not self.accepts(event)
        ):
            return
        if event.get("cursor") is None:
            if await self.may_hear(event):
                await self.send_uncursored(event)
        else:
            await self.stream.heard(event)

    async def send_uncursored(self, event: dict[str, Any]) -> None:
        """Typing and presence: no cursor, but a socket in several groups hears them twice."""
        key = json.dumps(event, sort_keys=True)
        if key not in self.recent_uncursored:
            self.recent_uncursored.append(key)
            await self.send_json(event)

    # --- Typing --------------------------------------------------------------------------

    async def on_typing(self, content: dict[str, Any]) -> None:
        conversation_id = conversation_id_in(content)
        is_typing = content.get("is_typing")
        if not isinstance(is_typing, bool):
            raise BadRequest(_("`is_typing` must be true or false."))
        target = await self.cached_target(conversation_id)
        if target is None:
            raise BadRequest(_("No such conversation."), code="not_found")
        payload = {
            "type": "typing",
            "conversation": conversation_id,
            "at": timezone.now().isoformat(),
            "data": {"author": self.author(), "is_typing": is_typing},
        }
        message = {"type": "event.publish", "event": payload, "sender": self.channel_name}
        try:
            for group in self.typing_groups(target, content):
                await self.channel_layer.group_send(group, message)
        except Exception:  # typing is a courtesy: not worth a socket while Redis is away
            logger.debug("typing not relayed", exc_info=True)

    async def cached_target(self, conversation_id: int) -> dict[str, Any] | None:
        """Typing fires often; its permission check is reused for a little while."""
        now = time.monotonic()
        cached = self.targets.get(conversation_id)
        if cached and now - cached[0] < TARGET_CACHE_SECONDS:
            return cached[1]
        target = await database_sync_to_async(self.typing_target)(conversation_id)
        if len(self.targets) > 200:
            self.targets.clear()
        self.targets[conversation_id] = (now, target)
        return target


async def refuse_for_now(receive: Any, send: Any) -> None:
    """Complete the handshake, then close it with CLOSE_TRY_AGAIN_LATER (a browser reads a
    close code, never a refused handshake's status)."""
    message = await receive()
    if message.get("type") == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})


async def in_cache(function: Callable[..., Any], *args: Any) -> Any:
    """A cache-only call from the event loop, on any worker thread (it touches no database)."""
    return await sync_to_async(function, thread_sensitive=False)(*args)


def conversation_id_in(content: dict[str, Any]) -> int:
    value = content.get("conversation")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_CURSOR:
        raise BadRequest(_("`conversation` must be a conversation id."))
    return value


def conversation_groups(target: dict[str, Any], conversation_id: int) -> list[str]:
    """Where agents following a conversation listen (mirrors events.groups_for)."""
    groups = [f"conversation.{conversation_id}", "admins"]
    groups.append(f"team.{target['team_id']}" if target["team_id"] else "inbox")
    if target["assignee_id"]:
        groups.append(f"agent.{target['assignee_id']}")
    return groups


class CustomerConsumer(EventStreamConsumer):
    """`/ws/customer/?token=<customer_token>`: the customer's own conversations."""

    customer: Customer

    async def authenticate(self) -> bool:
        customer = await database_sync_to_async(selectors.customer_by_token)(
            self.query_param("token")
        )
        if customer is None:
            return False
        self.customer = customer
        return True

    # Presence: replies are emailed only to customers with no open socket (mail/outbound.py).

    async def opened(self) -> None:
        await sync_to_async(presence.customer_socket_opened)(self.customer.pk, self.channel_name)
        await self.tell_agents()

    async def seen(self) -> None:
        await sync_to_async(presence.customer_socket_seen)(self.customer.pk, self.channel_name)

    async def closed(self) -> None:
        await sync_to_async(presence.customer_socket_closed)(self.customer.pk, self.channel_name)
        await self.tell_agents()

    async def tell_agents(self) -> None:
        """On the site now: the visitor arrived or left (live/visitors.py). A courtesy, as
        typing is: never worth the socket when Redis or PostgreSQL hiccups."""
        try:
            update = await database_sync_to_async(visitors.visitor_update)(self.customer.pk)
            for group in update[0] if update else ():
                await self.channel_layer.group_send(
                    group, {"type": "event.publish", "event": update[1]}
                )
        except Exception:
            logger.debug("visitor update not sent", exc_info=True)

    async def client_groups(self) -> list[str]:
        return [f"customer.{self.customer.pk}"]

    def visible_after(self, cursor: int, limit: int) -> list[Any]:
        return selectors.customer_events_after(self.customer, cursor, limit=limit)

    def accepts(self, event: dict[str, Any]) -> bool:
        # The customer group only gets public events; private notes are checked once more.
        data = event.get("data")
        return not (isinstance(data, dict) and data.get("private"))

    def shown(self, event: dict[str, Any]) -> dict[str, Any]:
        return event_with_links(customer_event(event), customer_reader(self.customer.pk))

    def typing_target(self, conversation_id: int) -> dict[str, Any] | None:
        return (
            selectors.customer_conversations(self.customer)
            .filter(pk=conversation_id)
            .values("customer_id", "team_id", "assignee_id")
            .first()
        )

    def typing_groups(self, target: dict[str, Any], content: dict[str, Any]) -> list[str]:
        return conversation_groups(target, content["conversation"])

    def author(self) -> dict[str, Any]:
        return {"kind": "customer", "id": self.customer.pk, "name": self.customer.name}

    def socket_owner(self) -> tuple[str, int]:
        return f"customer-{self.customer.pk}", settings.HELPDESK_WS_MAX_PER_CUSTOMER


class StaffConsumer(EventStreamConsumer):
    """A socket for staff, by session cookie or `?token=<DRF token key>` (other apps' staff
    sockets, such as the reports dashboard's, build on it)."""

    user: Any

    async def authenticate(self) -> bool:
        key = self.query_param("token")
        if key is not None:
            user = await database_sync_to_async(user_for_token)(key)
        else:
            user = self.scope.get("user")
        if not is_staff(user):
            return False
        self.user = user
        return True

    def socket_owner(self) -> tuple[str, int]:
        return f"user-{self.user.pk}", settings.HELPDESK_WS_MAX_PER_AGENT

    def shown(self, event: dict[str, Any]) -> dict[str, Any]:
        return event_with_links(event, user_reader(self.user.pk))

    # --- Access that changes while the socket is open (access.py) ----------------------------

    last_access_check = 0.0

    def listened_groups(self) -> list[str]:
        return [user_group(self.user.pk)]

    async def access_changed(self, message: dict[str, Any]) -> None:
        """`access.changed`: a team membership or a flag of the user changed."""
        if self.authenticated:
            await self.check_access()

    async def on_ping(self, content: dict[str, Any]) -> None:
        if time.monotonic() - self.last_access_check >= ACCESS_CHECK_SECONDS:
            await self.check_access()  # in case the channel layer lost an access.changed
            if not self.authenticated:
                return
        await super().on_ping(content)

    async def check_access(self) -> None:
        """Close the socket of a user who is no longer active staff; else hear what the
        user may hear now."""
        self.last_access_check = time.monotonic()
        user = await database_sync_to_async(fresh_user)(self.user.pk)
        if not is_staff(user):
            self.authenticated = False  # nothing more goes out, whatever is queued
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.user = user
        await self.regroup(await self.client_groups())


class AgentConsumer(StaffConsumer):
    """`/ws/agent/`: agents hear their teams, their assignments and the team-less inbox;
    superusers hear everything through `admins`. `subscribe` adds one conversation (for
    its typing). An open socket makes its agent online (presence, in the agents app).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions: set[str] = set()

    async def client_groups(self) -> list[str]:
        if self.user.is_superuser:
            return [user_group(self.user.pk), "admins"]  # admins hears every event
        team_ids = await database_sync_to_async(team_ids_of)(self.user)
        return [user_group(self.user.pk), "inbox", *(f"team.{pk}" for pk in team_ids)]

    def visible_after(self, cursor: int, limit: int) -> list[Any]:
        return selectors.agent_events_after(self.user, cursor, limit=limit)

    def typing_target(self, conversation_id: int) -> dict[str, Any] | None:
        return (
            selectors.conversations_visible_to_agent(self.user)
            .filter(pk=conversation_id)
            .values("customer_id", "team_id", "assignee_id")
            .first()
        )

    def typing_groups(self, target: dict[str, Any], content: dict[str, Any]) -> list[str]:
        groups = [f"conversation.{content['conversation']}"]
        if content.get("private") is not True:  # typing a private note: agents only
            groups.append(f"customer.{target['customer_id']}")
        return groups

    shown_as: dict[str, Any] | None = None

    async def authenticate(self) -> bool:
        if not await super().authenticate():
            return False
        await self.read_shown_as()
        return True

    async def read_shown_as(self) -> None:
        """The typing indicator shows the agent as customers see them (people.py)."""
        self.shown_as = await database_sync_to_async(author_shape)(
            AuthorKind.AGENT, agent=self.user
        )

    def author(self) -> dict[str, Any]:
        return self.shown_as or {"kind": "agent", "id": self.user.pk, "name": ""}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        return {
            **super().handlers(),
            "subscribe": self.on_subscribe,
            "unsubscribe": self.on_unsubscribe,
        }

    async def on_subscribe(self, content: dict[str, Any]) -> None:
        conversation_id = conversation_id_in(content)
        group = f"conversation.{conversation_id}"
        if group not in self.subscriptions:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise BadRequest(_("Too many subscriptions; unsubscribe from one first."))
            if await self.cached_target(conversation_id) is None:
                raise BadRequest(_("No such conversation."), code="not_found")
            await self.listen(group)  # typing only: logged events come through its teams
            self.subscriptions.add(group)
        await self.send_json({"type": "subscribed", "conversation": conversation_id})

    async def on_unsubscribe(self, content: dict[str, Any]) -> None:
        conversation_id = conversation_id_in(content)
        group = f"conversation.{conversation_id}"
        if group in self.subscriptions:
            self.subscriptions.discard(group)
            await self.stop_listening(group)
        await self.send_json({"type": "unsubscribed", "conversation": conversation_id})

    def accepts(self, event: dict[str, Any]) -> bool:
        if event.get("change", {}).keys() & {"team", "assignee"}:
            # Who may see the conversation changed: typing checks ask the database again.
            self.targets.pop(event.get("conversation"), None)
        return True

    async def may_hear(self, event: dict[str, Any]) -> bool:
        """Typing through a subscription: only while the conversation is still visible."""
        conversation_id = event.get("conversation")
        return not isinstance(conversation_id, int) or (
            await self.cached_target(conversation_id) is not None
        )

    async def check_access(self) -> None:
        await super().check_access()
        if not self.authenticated:
            return
        await self.read_shown_as()  # a name changed since shows within the minute
        self.targets.clear()
        for group in list(self.subscriptions):
            if await self.cached_target(int(group.rpartition(".")[2])) is None:
                self.subscriptions.discard(group)
                await self.stop_listening(group)

    # Presence: the agents app counts open sockets (agents/presence.py).

    async def opened(self) -> None:
        self.last_heartbeat = time.monotonic()
        await self.notify(agent_socket_opened)

    async def seen(self) -> None:
        await self.notify(agent_socket_seen)

    async def closed(self) -> None:
        await self.notify(agent_socket_closed)

    async def notify(self, signal: Signal) -> None:
        await database_sync_to_async(send_presence_signal)(
            signal, user_id=self.user.pk, connection=self.channel_name
        )


def send_presence_signal(signal: Signal, **kwargs: Any) -> None:
    for receiver, result in signal.send_robust(sender=AgentConsumer, **kwargs):
        if isinstance(result, Exception):  # presence must never break the socket
            logger.error("presence receiver %r failed", receiver, exc_info=result)


def user_for_token(key: str) -> Any:
    if not key or len(key) > 64:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token else None


def is_staff(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
    )


def fresh_user(pk: int) -> Any:
    return get_user_model().objects.filter(pk=pk).first()


def team_ids_of(user: Any) -> list[int]:
    return list(Team.objects.filter(members=user).values_list("pk", flat=True))
