"""The websockets (shared/API.md "Websockets"): authenticate, join groups, resume, dispatch.

Delivery. Channels groups are at-most-once, and events published by different processes can
arrive out of cursor order. A client keeps the highest cursor it saw and resumes after it, so
a socket that sent cursor 110 before 108 could lose 108 for good if the client disconnected
in between. Live messages are therefore treated as wake-ups and the log decides:

1. on connect the socket joins its groups *first* (live events wait until `resume`);
2. `resume` replays, from the database, every visible event after the client's cursor,
   oldest first, in batches, then flushes the live events held meanwhile;
3. a live event above the *verified* cursor (up to which every visible event has been sent)
   makes the socket read the log after that cursor and send what it finds together with the
   live event, in cursor order. A socket never sends a cursor while a visible event below it
   is unsent, so resuming after the highest cursor seen never skips anything; a message Redis
   dropped goes out with the next live event, or at the next ping (a cheap poll, at most
   every POLL_SECONDS), or on reconnect. Under load one read covers every event committed
   before it, and the live copies queued behind it are dropped without a query.

Each cursor goes out at most once per socket: the log's part is remembered as a range
(floor, verified], live events outside the log's answer (an agent hearing that a
conversation left their team) in a bounded set of recent cursors.

Presence: the agent socket emits `agent_socket_opened` / `agent_socket_seen` /
`agent_socket_closed`; the agents app keeps the connection count (this app never imports it).
"""

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async as _database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from . import presence, selectors
from .events import envelope
from .live_tail import LogTail, log_tail
from .models import Customer, Team
from .serializers import customer_event, user_name

logger = logging.getLogger(__name__)


def database_sync_to_async(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a database read on the thread pool. Channels' default funnels every socket's
    queries through one thread per process, so a thousand sockets would wait in line."""
    return _database_sync_to_async(function, thread_sensitive=False)


MAX_MESSAGE_CHARS = 64 * 1024  # inbound frames; clients only send small control messages
REPLAY_BATCH = 500
POLL_SECONDS = 15.0  # a ping reads the log at most this often, repairing silent drops
RECENT_CURSORS = 4096  # cursors remembered individually, for duplicate live copies
MAX_WAITING = 1000  # live events held before the first resume (the replay covers overflow)
MAX_SUBSCRIPTIONS = 50
TARGET_CACHE_SECONDS = 30.0  # how long a typing permission check is reused
HEARTBEAT_WRITE_SECONDS = 20.0  # at most one presence write per socket per this interval
MAX_CURSOR = 2**63 - 1

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_BIG = 1009

# Sent from a worker thread with `user_id` and `connection` (the socket's channel name).
agent_socket_opened = Signal()
agent_socket_seen = Signal()
agent_socket_closed = Signal()


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class Delivered:
    """What one socket has sent: every visible event in (floor, verified], plus recent cursors."""

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
        self.joined: set[str] = set()
        self.delivered = Delivered()
        self.resumed = False
        self.woken = 0  # highest cursor the log tail announced before `resume`
        self.delivery = asyncio.Lock()  # one delivery at a time: resume, live, repair
        self.waiting: list[dict[str, Any]] = []
        self.last_poll = time.monotonic()
        self.recent_uncursored: deque[str] = deque(maxlen=128)
        self.bucket = TokenBucket()
        self.targets: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self.last_heartbeat = 0.0

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

    def accepts(self, event: dict[str, Any]) -> bool:
        """A last check on what reaches this client."""
        return True

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

    async def connect(self) -> None:
        if not await self.authenticate():
            # Accept, then close with 4401: a browser can read the code, not a refused handshake.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.authenticated = True
        # Groups and presence before the handshake completes: once the client's socket is
        # open, nothing published from then on can miss it.
        await self.join(await self.client_groups())
        await self.opened()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        log_tail().unregister(self)
        for group in list(self.joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined.clear()
        if self.authenticated:
            self.authenticated = False
            await self.closed()

    async def join(self, groups: list[str]) -> None:
        for group in groups:
            if group not in self.joined:
                await self.channel_layer.group_add(group, self.channel_name)  # typing, presence
                await log_tail().register(self, group)  # logged events
                self.joined.add(group)

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
        except ValueError:
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
        if self.resumed and time.monotonic() - self.last_poll >= POLL_SECONDS:
            async with self.delivery:
                await self.repair()

    async def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_WRITE_SECONDS:
            self.last_heartbeat = now
            await self.seen()

    # --- Resume and replay ---------------------------------------------------------------

    async def on_resume(self, content: dict[str, Any]) -> None:
        after = content.get("after")
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_CURSOR
        ):
            raise BadRequest(_("`after` must be a cursor (a whole number) or null."))
        async with self.delivery:
            cursor = await self.replay(after)
            self.resumed = True
            await self.send_json({"type": "resumed", "cursor": cursor})
            waiting, self.waiting = self.waiting, []
            await self.deliver_live(waiting)
        if self.woken > cursor:  # logged while the replay ran
            await self.wake(self.woken)

    async def wake(self, cursor: int) -> None:
        """The process's log tail read events up to `cursor` for one of our groups."""
        if not self.authenticated:
            return
        if not self.resumed:
            self.woken = max(self.woken, cursor)  # the replay, or the wake after it, covers it
            return
        async with self.delivery:
            if cursor <= self.delivered.verified:
                return
            tail = log_tail()
            if tail.holds_after(self.delivered.verified):
                await self.send_from_tail(tail, [])
            else:
                await self.repair()

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
        self, cursor: int, *, up_to_end: bool, heard: Iterable[dict[str, Any]] = ()
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

    def fetch_batch(self, cursor: int, with_end: bool) -> tuple[int | None, list[dict[str, Any]]]:
        end = selectors.last_cursor() if with_end else None  # read first: see send_log_after
        return end, [envelope(event) for event in self.visible_after(cursor, REPLAY_BATCH)]

    async def send_event(self, event: dict[str, Any]) -> None:
        cursor = event["cursor"]
        if (
            self.accepts(event)
            and not self.delivered.sent(cursor)
            and not self.delivered.covers(cursor)
        ):
            await self.send_json(self.shown(event))
            self.delivered.record(cursor)

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
            await self.send_uncursored(event)
        elif not self.resumed:
            if len(self.waiting) < MAX_WAITING:
                self.waiting.append(event)
        else:
            async with self.delivery:
                await self.deliver_live([event])

    async def send_uncursored(self, event: dict[str, Any]) -> None:
        """Typing and presence: no cursor, but a socket in several groups hears them twice."""
        key = json.dumps(event, sort_keys=True)
        if key not in self.recent_uncursored:
            self.recent_uncursored.append(key)
            await self.send_json(event)

    async def deliver_live(self, events: list[dict[str, Any]]) -> None:
        delivered = self.delivered
        fresh = [event for event in events if not delivered.sent(event["cursor"])]
        ahead = [event for event in fresh if event["cursor"] > delivered.verified]
        for event in fresh:
            if delivered.covers(event["cursor"]):
                # Everything visible up to `verified` went out already and the log did not show
                # us this one (an agent told that a conversation left their team): send it as
                # heard. At or below `floor` the client has it or asked not to get it.
                await self.send_json(self.shown(event))
                delivered.record(event["cursor"])
        if not ahead:
            return
        tail = log_tail()
        if await tail.reach(max(event["cursor"] for event in ahead)) and tail.holds_after(
            delivered.verified
        ):
            await self.send_from_tail(tail, ahead)
        else:  # too far behind the process's window: read the log for this socket alone
            verified = await self.send_log_after(delivered.verified, up_to_end=False, heard=ahead)
            delivered.cover(delivered.floor, verified)

    async def send_from_tail(self, tail: LogTail, heard: list[dict[str, Any]]) -> None:
        """Everything this socket's groups heard after its verified cursor, in order, from the
        process's copy of the log; then the socket is complete up to the tail's end."""
        end = tail.end
        for event in tail.after(self.delivered.verified, self.joined):
            if event["cursor"] <= end:
                await self.send_event(event)
        for event in heard:  # heard through a group the log no longer names (a transfer)
            await self.send_event(event)
        self.delivered.cover(self.delivered.floor, end)

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
        for group in self.typing_groups(target, content):
            await self.channel_layer.group_send(group, message)

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

    # Presence: replies are emailed only to customers with no open socket (emails.py).

    async def opened(self) -> None:
        await sync_to_async(presence.customer_socket_opened)(self.customer.pk, self.channel_name)

    async def seen(self) -> None:
        await sync_to_async(presence.customer_socket_seen)(self.customer.pk, self.channel_name)

    async def closed(self) -> None:
        await sync_to_async(presence.customer_socket_closed)(self.customer.pk, self.channel_name)

    async def client_groups(self) -> list[str]:
        return [f"customer.{self.customer.pk}"]

    def visible_after(self, cursor: int, limit: int) -> list[Any]:
        return selectors.customer_events_after(self.customer, cursor, limit=limit)

    def accepts(self, event: dict[str, Any]) -> bool:
        # The customer group only gets public events; private notes are checked once more.
        data = event.get("data")
        return not (isinstance(data, dict) and data.get("private"))

    def shown(self, event: dict[str, Any]) -> dict[str, Any]:
        return customer_event(event)

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
            return [f"agent.{self.user.pk}", "admins"]  # admins hears every event
        team_ids = await database_sync_to_async(team_ids_of)(self.user)
        return [f"agent.{self.user.pk}", "inbox", *(f"team.{pk}" for pk in team_ids)]

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

    def author(self) -> dict[str, Any]:
        return {"kind": "agent", "id": self.user.pk, "name": user_name(self.user)}

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
            await self.join([group])
            self.subscriptions.add(group)
        await self.send_json({"type": "subscribed", "conversation": conversation_id})

    async def on_unsubscribe(self, content: dict[str, Any]) -> None:
        conversation_id = conversation_id_in(content)
        group = f"conversation.{conversation_id}"
        if group in self.subscriptions:
            self.subscriptions.discard(group)
            self.joined.discard(group)
            log_tail().unregister(self, group)
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"type": "unsubscribed", "conversation": conversation_id})

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


def team_ids_of(user: Any) -> list[int]:
    return list(Team.objects.filter(members=user).values_list("pk", flat=True))
