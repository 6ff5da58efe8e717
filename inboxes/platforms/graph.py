"""What Meta's platforms share (WhatsApp Cloud API, Messenger, Instagram): webhooks signed with
X-Hub-Signature-256 (HMAC-SHA256 of the raw body, keyed with the app secret) and the
verify-token handshake of GET …?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…

Docs: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from conversations.models import Channel, Delivery, Inbox, Message

from .. import credentials
from ..registry import ChannelPlugin, DeliveryError, Inbound, Setting, StatusUpdate, register

TEXT_LIMITS = {Channel.MESSENGER: 2000, Channel.INSTAGRAM: 1000}


class GraphPlugin(ChannelPlugin):
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
    """A file or image the customer sent, as text naming it (files are not stored yet)."""
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
            return [Inbound(sender, "", self._body(message), str(message["mid"]))]
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

    @staticmethod
    def _body(message: dict[str, Any]) -> str:
        parts = [message.get("text") or ""]
        for attachment in message.get("attachments") or []:
            parts.append(attachment_text(attachment.get("type", "file")))
        return "\n".join(part for part in parts if part) or attachment_text("file")

    def send(self, inbox: Inbox, message: Message) -> str:
        base = self.value(inbox, "api_base_url").rstrip("/")
        recipient = message.conversation.customer.external_id.partition(":")[2]
        payload = {
            "recipient": {"id": recipient},
            "messaging_type": "RESPONSE",
            "message": {"text": message.body},
        }
        page = self.value(inbox, "page_id")
        response = self.post(f"{base}/{page}/messages", payload, headers=self.bearer(inbox))
        try:
            return str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error


class InstagramChannel(MessengerChannel):
    channel = Channel.INSTAGRAM
    icon = "M7 3h10a4 4 0 0 1 4 4v10a4 4 0 0 1-4 4H7a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4zm5 5a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm5.5-2.5v.01"


def _ms(status: dict[str, Any]) -> datetime | None:
    watermark = status.get("watermark")
    return datetime.fromtimestamp(int(watermark) / 1000, UTC) if watermark else None


register(MessengerChannel())
register(InstagramChannel())
