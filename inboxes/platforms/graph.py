"""What Meta's platforms share (WhatsApp Cloud API, Messenger, Instagram): webhooks signed with
X-Hub-Signature-256 (HMAC-SHA256 of the raw body, keyed with the app secret) and the
verify-token handshake of GET …?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…

Docs: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from requests import Response

from conversations.files import links
from conversations.models import Attachment, Channel, Delivery, Inbox, Message

from .. import credentials
from ..registry import (
    MB,
    ChannelPlugin,
    DeliveryError,
    Inbound,
    Media,
    Setting,
    StatusUpdate,
    register,
)

TEXT_LIMITS = {Channel.MESSENGER: 2000, Channel.INSTAGRAM: 1000}
# The images and documents Instagram's messaging takes (any video or audio: its formats vary).
INSTAGRAM_FILES = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf"})
# Attachments kept as files (the webhook's `type`); the Send API takes the same ones.
MEDIA_KINDS = ("image", "video", "audio", "file")


class GraphPlugin(ChannelPlugin):
    # Meta's platforms take free-form replies within 24 hours of the customer's last message
    # (WhatsApp's customer service window, Messenger's and Instagram's standard messaging).
    reply_window = timedelta(hours=24)

    def signature_ok(self, inbox: Inbox, headers: Mapping[str, str], body: bytes) -> bool:
        expected = "sha256=" + credentials.hmac_sha256(self.value(inbox, "app_secret"), body)
        return bool(self.value(inbox, "app_secret")) and credentials.same(
            headers.get("X-Hub-Signature-256", ""), expected
        )

    def handshake(self, inbox: Inbox, query: Mapping[str, str]) -> str | None:
        if query.get("hub.mode") != "subscribe":
            return None
        if not credentials.same(
            query.get("hub.verify_token", ""), self.value(inbox, "verify_token")
        ):
            return None
        return query.get("hub.challenge", "")

    def bearer(self, inbox: Inbox) -> dict[str, str]:
        # In a header, not the documented ?access_token=: URLs end up in logs.
        return {"Authorization": f"Bearer {self.value(inbox, 'access_token')}"}


def attachment_text(kind: str, name: str = "", caption: str = "") -> str:
    """An attachment the helpdesk does not keep as a file (a sticker, a location), as text."""
    labels = {
        "image": _("[Image]"),
        "video": _("[Video]"),
        "audio": _("[Audio]"),
        "sticker": _("[Sticker]"),
        "location": _("[Location]"),
    }
    label = labels.get(kind) or _("[File]")
    return " ".join(part for part in (label, name, caption) if part)


class MessengerChannel(GraphPlugin):
    """Messenger Platform (and, with channel = instagram, Instagram Messaging): the same
    webhook `messaging` entries and Send API.

    Docs: https://developers.facebook.com/docs/messenger-platform/webhooks,
    https://developers.facebook.com/docs/messenger-platform/reference/send-api/
    """

    channel = Channel.MESSENGER
    icon = "M12 3c5 0 9 3.6 9 8.2s-4 8.2-9 8.2c-.9 0-1.8-.1-2.6-.4L6 21v-3.3A8 8 0 0 1 3 11.2C3 6.6 7 3 12 3zM7 14l3.5-3.5 2.5 2 4-4"
    settings = (
        Setting("page_id"),
        Setting("access_token", secret=True),
        Setting("app_secret", secret=True),
        Setting("verify_token", secret=True),
        Setting("api_base_url", url=True, default="HELPDESK_GRAPH_API_BASE_URL"),
    )

    @property
    def max_length(self) -> int:  # type: ignore[override]
        return TEXT_LIMITS[self.channel]

    def parse(self, inbox: Inbox, payload: Any) -> list[Inbound | StatusUpdate]:
        found: list[Inbound | StatusUpdate] = []
        page = str(inbox.settings.get("page_id", ""))
        for entry in payload.get("entry") or []:
            if page and str(entry.get("id", "")) != page:
                continue  # another page of the same app
            for event in entry.get("messaging") or []:
                found += self._parse_event(event)
        return found

    def _parse_event(self, event: dict[str, Any]) -> list[Inbound | StatusUpdate]:
        sender = str((event.get("sender") or {}).get("id", ""))
        message = event.get("message")
        if message and not message.get("is_echo"):  # echoes are our own replies
            return [self._inbound(sender, message)]
        if "delivery" in event:
            delivery = event["delivery"]
            return [
                StatusUpdate(Delivery.DELIVERED, external_id=str(mid))
                for mid in delivery.get("mids") or []
            ] or [StatusUpdate(Delivery.DELIVERED, sender=sender, until=_ms(delivery))]
        if "read" in event:
            read = event["read"]
            if read.get("mid"):  # Instagram names the message
                return [StatusUpdate(Delivery.READ, external_id=str(read["mid"]))]
            return [StatusUpdate(Delivery.READ, sender=sender, until=_ms(read))]
        return []

    def _inbound(self, sender: str, message: dict[str, Any]) -> Inbound:
        """The customer's text, and each attachment: an image or file to download from its
        CDN URL (no token needed), anything else (a sticker, a location, a shared link) named
        in the text."""
        media, labels = [], []
        for attachment in message.get("attachments") or []:
            url = _file_url(attachment)
            if url:
                name = PurePosixPath(urlsplit(url).path).name
                media.append(Media(name, partial(self.download, url, name or "file")))
            else:
                labels.append(_shared_text(attachment))
        body = "\n".join(part for part in (message.get("text") or "", *labels) if part)
        if not body and not media:
            body = attachment_text("file")
        return Inbound(sender, "", body, str(message["mid"]), tuple(media))

    def max_file_bytes(self, content_type: str) -> int | None:
        return 25 * MB  # the Send API's limit on an attachment

    def send(self, inbox: Inbox, message: Message) -> str:
        """The reply's text, then each of its files, uploaded with the message in one call
        (multipart: `recipient`, `message` naming the attachment's type, `filedata`). Returns
        the first message's id (its delivery and read events move the reply)."""
        base = self.value(inbox, "api_base_url").rstrip("/")
        url = f"{base}/{self.value(inbox, 'page_id')}/messages"
        recipient = {"id": message.conversation.customer.external_id.partition(":")[2]}
        sent = []
        if message.body:
            payload = {"recipient": recipient, "messaging_type": "RESPONSE"}
            payload["message"] = {"text": message.body}
            sent.append(_message_id(self.post(url, payload, headers=self.bearer(inbox))))
        for attachment in message.attachments.all():
            if attachment.file:  # an imported link has no bytes to upload
                sent.append(_message_id(self._send_file(inbox, url, recipient, attachment)))
        return sent[0] if sent else ""

    def _send_file(
        self, inbox: Inbox, url: str, recipient: dict[str, str], attachment: Attachment
    ) -> Response:
        kind = _attachment_kind(attachment.content_type)
        fields = {
            "recipient": json.dumps(recipient),
            "messaging_type": "RESPONSE",
            "message": json.dumps(
                {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
            ),
        }
        with attachment.file.open("rb") as data:
            upload = {"filedata": (attachment.name, data, attachment.content_type)}
            return self.post(url, data=fields, files=upload, headers=self.bearer(inbox))


class InstagramChannel(MessengerChannel):
    """Instagram Messaging takes an attachment by URL: its documentation lets images be
    uploaded only from a URL (Messenger's multipart `filedata` is not documented for them), so
    each file goes out as a signed download link for the customer that Meta fetches.

    Docs: https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message,
    https://developers.facebook.com/docs/messenger-platform/instagram/features/upload-attachment
    """

    channel = Channel.INSTAGRAM
    icon = "M7 3h10a4 4 0 0 1 4 4v10a4 4 0 0 1-4 4H7a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4zm5 5a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm5.5-2.5v.01"

    def max_file_bytes(self, content_type: str) -> int | None:
        return 8 * MB if content_type.startswith("image/") else 25 * MB

    def takes_file(self, content_type: str) -> bool:
        kind = content_type.partition("/")[0]
        return kind in ("video", "audio") or content_type in INSTAGRAM_FILES

    def _send_file(
        self, inbox: Inbox, url: str, recipient: dict[str, str], attachment: Attachment
    ) -> Response:
        kind = _attachment_kind(attachment.content_type)
        payload = {
            "recipient": recipient,
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": kind, "payload": {"url": _public_link(attachment)}}},
        }
        return self.post(url, payload, headers=self.bearer(inbox))


# How long a file's link for Meta lives: Meta fetches it when the message is sent, and a
# delivery retried later signs a new one; a day leaves room for a slow fetch.
LINK_SECONDS = 24 * 3600


def _public_link(attachment: Attachment) -> str:
    """The file's signed download link for the conversation's customer, absolute
    (HELPDESK_PUBLIC_URL, as in emails): whoever holds it may read the file for LINK_SECONDS."""
    reader = links.customer_reader(attachment.message.conversation.customer_id)
    path = links.sign(attachment.pk, reader, seconds=LINK_SECONDS)
    return settings.HELPDESK_PUBLIC_URL.rstrip("/") + path


def _message_id(response: Response) -> str:
    try:
        return str(response.json()["message_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error


def _attachment_kind(content_type: str) -> str:
    """The Send API's attachment type of a file: image, video, audio, or any other file."""
    kind = content_type.partition("/")[0]
    return kind if kind in ("image", "video", "audio") else "file"


def _shared_text(attachment: dict[str, Any]) -> str:
    """An attachment that is not a file to keep, as text: a shared link (Messenger's
    `fallback`), an Instagram post, reel or story mention with its title and URL (so the
    agent can open it), a sticker or a location by name."""
    labels = {
        "fallback": _("[Link]"),
        "share": _("[Shared post]"),
        "ig_post": _("[Shared post]"),
        "ig_reel": _("[Reel]"),
        "reel": _("[Reel]"),
        "story_mention": _("[Story mention]"),
    }
    kind = _label_kind(attachment)
    if kind not in labels:
        return attachment_text(kind)
    payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
    title = str(payload.get("title") or attachment.get("title") or "")
    url = str(payload.get("url") or attachment.get("url") or "")
    return " ".join(part for part in (labels[kind], title, url) if part)


def _label_kind(attachment: dict[str, Any]) -> str:
    payload = attachment.get("payload")
    if isinstance(payload, dict) and payload.get("sticker_id"):
        return "sticker"
    return str(attachment.get("type", "file"))


def _file_url(attachment: dict[str, Any]) -> str:
    """The URL of an attachment worth keeping as a file ("" for stickers, locations, links)."""
    payload = attachment.get("payload")
    if attachment.get("type") not in MEDIA_KINDS or not isinstance(payload, dict):
        return ""
    if payload.get("sticker_id"):
        return ""  # a sticker: an image, but not a file to keep
    return str(payload.get("url") or "")


def _ms(status: dict[str, Any]) -> datetime | None:
    watermark = status.get("watermark")
    return datetime.fromtimestamp(int(watermark) / 1000, UTC) if watermark else None


register(MessengerChannel())
register(InstagramChannel())
