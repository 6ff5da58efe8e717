"""Channels are plug-ins: each platform module registers one ChannelPlugin here (at import,
from InboxesConfig.ready). The rest of the app asks the registry, never a platform by name.

A plug-in turns its platform's webhook into Inbound messages and StatusUpdates (which
services.py hands to the core's services) and sends an agent's reply out. It knows HTTP and
its platform's JSON; what it needs to know of a conversation it asks the core's selectors.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput, NotAllowed
from conversations.files.checks import StoredFile, TooLarge, UnsupportedType
from conversations.models import Conversation, Inbox, Message
from conversations.selectors import last_customer_message_at

from . import credentials, targets


@dataclass(frozen=True)
class Setting:
    """One of a channel's inbox settings (shared/API.md lists them by channel)."""

    name: str
    secret: bool = False  # encrypted at rest, never shown again
    url: bool = False  # a base URL the helpdesk calls (targets.check_target)
    default: str = ""  # the name of the Django setting that gives its default
    pattern: str = ""  # what the platform takes (a regular expression the value must match)
    pattern_hint: Any = ""  # says it to the admin, when a value does not match


@dataclass(frozen=True)
class Media:
    """A file the customer sent, not downloaded yet: the webhook's payload names it only.
    `fetch` downloads it (DeliveryError when it cannot); services.receive calls it once it
    knows the message is new."""

    name: str
    fetch: Callable[[], ContentFile]


@dataclass(frozen=True)
class Inbound:
    """A customer's message as the platform sent it."""

    sender: str  # the platform's id of the customer (chat id, wa_id, PSID)
    name: str
    body: str
    external_id: str  # the platform's id of the message: duplicates are dropped on it
    media: tuple[Media, ...] = ()  # its files; `body` is then the caption alone


@dataclass(frozen=True)
class StatusUpdate:
    """How far one of our messages got. Either `external_id` names it, or (Messenger's read
    and delivery watermarks) every reply to `sender` up to `until`."""

    delivery: str
    external_id: str = ""
    sender: str = ""
    until: datetime | None = None


MAX_REDIRECTS = 3  # of a platform's file download (ChannelPlugin.download)
MB = 1024 * 1024


class DeliveryError(Exception):
    """A send that did not go through; `permanent` ones are not retried."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status, self.permanent = status, permanent


class ChannelPlugin:
    channel: str = ""
    # Whether admins create inboxes of it, which take the platform's webhooks and send replies
    # out (send). The widget and email are channels too, living in the helpdesk itself: one
    # inbox each (made by a migration), replies pushed live or emailed by the core.
    webhook: bool = True
    icon: str = ""  # its outline for the workspace: SVG path data on a 24×24 grid
    settings: Sequence[Setting] = ()
    max_length: int | None = None  # the platform's limit on a text message, in characters
    # How long after the customer's last message the platform takes a free-form reply (Meta's
    # customer service / standard messaging window); None: any time.
    reply_window: timedelta | None = None

    # --- Inbound ---------------------------------------------------------------------------

    def signature_ok(self, inbox: Inbox, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def handshake(self, inbox: Inbox, query: Mapping[str, str]) -> str | None:
        """The answer to the platform's GET verification, or None (403)."""
        return None

    def parse(self, inbox: Inbox, payload: Any) -> list[Inbound | StatusUpdate]:
        return []

    # --- Outbound --------------------------------------------------------------------------

    def check_reply(
        self,
        inbox: Inbox,
        conversation: Conversation,
        body: str,
        files: Sequence[StoredFile] = (),
    ) -> None:
        """Refuse (HelpdeskError) a reply the platform would not take: too long a text, a
        file of a type it does not take or over its limit, or the reply window closed."""
        channel = inbox.get_channel_display()
        if self.max_length and len(body) > self.max_length:
            message = _("%(channel)s takes messages of at most %(limit)d characters.") % {
                "channel": channel,
                "limit": self.max_length,
            }
            raise InvalidInput(message, code="too_long", fields={"body": message})
        for file in files:
            if not self.takes_file(file.content_type):
                message = _("%(channel)s does not take files of this type: “%(name)s”.") % {
                    "channel": channel,
                    "name": file.name,
                }
                raise UnsupportedType(message, fields={"files": message})
            limit = self.max_file_bytes(file.content_type)
            if limit is not None and file.size > limit:
                message = _(
                    "%(channel)s takes files of this type up to %(size)d MB: “%(name)s” is larger."
                ) % {
                    "channel": channel,
                    "size": limit // MB,
                    "name": file.name,
                }
                raise TooLarge(message, fields={"files": message})
        if self.reply_window is not None and not self._window_open(conversation):
            raise NotAllowed(self.window_closed_text(channel), code="window_closed")

    def max_file_bytes(self, content_type: str) -> int | None:
        """The platform's limit on a file of this type sent by the helpdesk (None: ours only)."""
        return None

    def takes_file(self, content_type: str) -> bool:
        """Whether the platform takes a file of this (sniffed) type from the helpdesk; the
        helpdesk's own list (HELPDESK_ATTACHMENT_TYPES) was checked before."""
        return True

    def window_closed_text(self, channel: str) -> str:
        hours = int(self.reply_window.total_seconds() // 3600) if self.reply_window else 0
        return _(
            "The customer last wrote more than %(hours)d hours ago: %(channel)s takes a reply "
            "only after they write again."
        ) % {"hours": hours, "channel": channel}

    def _window_open(self, conversation: Conversation) -> bool:
        last = last_customer_message_at(conversation)
        return last is not None and timezone.now() - last <= self.reply_window

    def send(self, inbox: Inbox, message: Message) -> str:
        """Send the reply; returns the platform's id of it. Raises DeliveryError."""
        raise NotImplementedError

    # --- Helpers for plug-ins --------------------------------------------------------------

    def value(self, inbox: Inbox, name: str) -> str:
        """A setting of the inbox, its clear text (secrets are stored sealed)."""
        setting = next(setting for setting in self.settings if setting.name == name)
        stored = inbox.settings.get(name, "")
        value = credentials.unseal(stored) if setting.secret else stored
        if not value and setting.default:
            value = getattr(settings, setting.default)
        return value

    def post(self, url: str, payload: Any = None, **kwargs: Any) -> requests.Response:
        """POST to a platform (or a webhook target); only a 2xx delivers. Network errors and
        5xx/429 are retryable DeliveryErrors, other answers permanent ones."""
        return self.request("POST", url, json=payload, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A call to a platform, checked and timed out; errors as for post(). A redirect is
        never followed: it could lead past check_target to a private address."""
        targets.check_target(url, field="url")
        try:
            response = requests.request(
                method,
                url,
                timeout=settings.HELPDESK_CHANNEL_TIMEOUT_SECONDS,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as error:
            raise DeliveryError(type(error).__name__) from error
        if not 200 <= response.status_code < 300:
            retryable = response.status_code >= 500 or response.status_code in (408, 429)
            raise DeliveryError(
                f"HTTP {response.status_code}: {response.text[:300]}",
                status=response.status_code,
                permanent=not retryable,
            )
        return response

    def download(self, url: str, name: str, **kwargs: Any) -> ContentFile:
        """GET a customer's file from a platform. It reads at most one byte more than the
        attachments' limit, so a huge file costs no more than that and still fails
        files.checks.check_file (the one place for the limits). Raises DeliveryError."""
        limit = settings.HELPDESK_ATTACHMENT_MAX_BYTES + 1
        try:
            with self._get_following_checked_redirects(url, **kwargs) as response:
                if not 200 <= response.status_code < 300:
                    raise DeliveryError(f"HTTP {response.status_code}", status=response.status_code)
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) >= limit:
                        break
        except requests.RequestException as error:
            raise DeliveryError(type(error).__name__) from error
        return ContentFile(bytes(data[:limit]), name=name)

    def _get_following_checked_redirects(self, url: str, **kwargs: Any) -> requests.Response:
        """A streamed GET; a platform's file may sit behind a redirect to its CDN, so up to
        MAX_REDIRECTS are followed, each target checked like the first, and the platform's
        token is not carried to another host."""
        for _hop in range(MAX_REDIRECTS + 1):
            targets.check_target(url, field="url")
            response = requests.get(
                url,
                stream=True,
                timeout=settings.HELPDESK_CHANNEL_TIMEOUT_SECONDS,
                allow_redirects=False,
                **kwargs,
            )
            if not response.is_redirect:
                return response
            target = requests.compat.urljoin(url, response.headers["Location"])
            response.close()
            if urlsplit(target).hostname != urlsplit(url).hostname:  # as requests does
                kwargs["headers"] = {
                    key: value
                    for key, value in kwargs.get("headers", {}).items()
                    if key.lower() != "authorization"
                }
            url = target
        raise DeliveryError("too many redirects", permanent=True)


_PLUGINS: dict[str, ChannelPlugin] = {}


def register(plugin: ChannelPlugin) -> ChannelPlugin:
    _PLUGINS[plugin.channel] = plugin
    return plugin


def plugin_for(channel: str) -> ChannelPlugin | None:
    return _PLUGINS.get(channel)


def channels() -> list[str]:
    """Every channel, the widget and email included."""
    return sorted(_PLUGINS)


def webhook_channels() -> list[str]:
    """The channels admins create inboxes of (platforms and the api channel)."""
    return sorted(name for name, plugin in _PLUGINS.items() if plugin.webhook)
