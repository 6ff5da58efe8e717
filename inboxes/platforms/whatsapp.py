"""WhatsApp Cloud API: webhooks of `whatsapp_business_account` changes (messages, statuses),
replies through POST {api_base_url}/{phone_number_id}/messages. A customer's image or
document names a media id: GET {api_base_url}/{media_id} gives a short-lived `url`, downloaded
with the same bearer token.

Docs: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples,
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages,
https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows,
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
"""

from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from conversations.models import Attachment, Channel, Delivery, Inbox, Message

from ..registry import MB, DeliveryError, Inbound, Media, Setting, StatusUpdate, register
from .graph import GraphPlugin, attachment_text

# Messages whose media is downloaded and kept (stickers stay text: not files to keep).
MEDIA_KINDS = ("image", "document", "video", "audio")
STATUSES = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "failed": Delivery.FAILED,
}


class WhatsAppChannel(GraphPlugin):
    channel = Channel.WHATSAPP
    icon = (
        "M4 20l1.3-4A8 8 0 1 1 8 18.7zM9 9c0 3 3 6 6 6l1-1.5-2-1-1 1c-1 0-2.5-1.5-2.5-2.5l1-1-1-2z"
    )
    max_length = 4096  # outside the 24-hour window only a template goes (not from the workspace)
    settings = (
        Setting("phone_number_id"),
        Setting("access_token", secret=True),
        Setting("app_secret", secret=True),
        Setting("verify_token", secret=True),
        Setting("api_base_url", url=True, default="HELPDESK_GRAPH_API_BASE_URL"),
    )

    def parse(self, inbox: Inbox, payload: Any) -> list[Inbound | StatusUpdate]:
        found: list[Inbound | StatusUpdate] = []
        number = str(inbox.settings.get("phone_number_id", ""))
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                if str((value.get("metadata") or {}).get("phone_number_id", "")) != number:
                    continue  # another number of the same business account
                names = {
                    str(contact.get("wa_id")): (contact.get("profile") or {}).get("name", "")
                    for contact in value.get("contacts") or []
                }
                for message in value.get("messages") or []:
                    sender = str(message["from"])
                    media = self._media(inbox, message)
                    body = (message.get(message.get("type", "")) or {}).get("caption", "")
                    found.append(
                        Inbound(
                            sender,
                            names.get(sender, ""),
                            body if media else _body(message),
                            str(message["id"]),
                            (media,) if media else (),
                        )
                    )
                for status in value.get("statuses") or []:
                    if status.get("status") in STATUSES:
                        found.append(
                            StatusUpdate(STATUSES[status["status"]], external_id=str(status["id"]))
                        )
        return found

    def _media(self, inbox: Inbox, message: dict[str, Any]) -> Media | None:
        kind = message.get("type", "")
        content = message.get(kind) if kind in MEDIA_KINDS else None
        if not isinstance(content, dict) or not content.get("id"):
            return None
        name = str(content.get("filename", ""))
        return Media(name, partial(self.fetch_media, inbox, str(content["id"]), name or kind))

    def fetch_media(self, inbox: Inbox, media_id: str, name: str) -> ContentFile:
        """The media's URL (valid for minutes), then its bytes, both with the bearer token."""
        base = self.value(inbox, "api_base_url").rstrip("/")
        response = self.request("GET", f"{base}/{media_id}", headers=self.bearer(inbox))
        try:
            url = str(response.json()["url"])
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error
        return self.download(url, name, headers=self.bearer(inbox))

    def window_closed_text(self, channel: str) -> str:
        return _(
            "The customer last wrote more than 24 hours ago: WhatsApp lets only a "
            "template message through until they write again."
        )

    def max_file_bytes(self, content_type: str) -> int | None:
        return 100 * MB  # a document's limit (a larger image goes as a document)

    def send(self, inbox: Inbox, message: Message) -> str:
        """The reply's text, then each of its files: uploaded (POST /{phone_number_id}/media),
        then sent by that media id, as an image (JPEG, PNG) or a document. Returns the first
        message's wamid (its statuses move the reply). Uploading rather than sending a link
        keeps the helpdesk's download links private and works without a public address."""
        base = self.value(inbox, "api_base_url").rstrip("/")
        number = self.value(inbox, "phone_number_id")
        to = message.conversation.customer.external_id.partition(":")[2]
        sent = []
        if message.body:
            text = {"type": "text", "text": {"preview_url": False, "body": message.body}}
            sent.append(self._send(inbox, f"{base}/{number}", to, text))
        for attachment in message.attachments.all():
            if attachment.file:  # an imported link has no bytes to upload
                media = self._upload(inbox, f"{base}/{number}", attachment)
                sent.append(self._send(inbox, f"{base}/{number}", to, media))
        return sent[0] if sent else ""

    def _send(self, inbox: Inbox, number_url: str, to: str, content: dict[str, Any]) -> str:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        response = self.post(
            f"{number_url}/messages", {**payload, **content}, headers=self.bearer(inbox)
        )
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error

    def _upload(self, inbox: Inbox, number_url: str, attachment: Attachment) -> dict[str, Any]:
        """The file uploaded; returns the message content that sends it by its media id."""
        with attachment.file.open("rb") as data:
            response = self.post(
                f"{number_url}/media",
                data={"messaging_product": "whatsapp", "type": attachment.content_type},
                files={"file": (attachment.name, data, attachment.content_type)},
                headers=self.bearer(inbox),
            )
        try:
            media_id = str(response.json()["id"])
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error
        if attachment.content_type in IMAGE_TYPES and attachment.size <= IMAGE_MAX_BYTES:
            return {"type": "image", "image": {"id": media_id}}
        return {"type": "document", "document": {"id": media_id, "filename": attachment.name}}


# Images WhatsApp sends as images; any other file goes as a document.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
IMAGE_MAX_BYTES = 5 * MB


def _body(message: dict[str, Any]) -> str:
    kind = message.get("type", "")
    if kind == "text":
        return (message.get("text") or {}).get("body") or attachment_text("file")
    content = message.get(kind) or {}
    if kind in ("image", "video", "audio", "sticker", "document"):
        return attachment_text(kind, content.get("filename", ""), content.get("caption", ""))
    if kind == "location":
        return attachment_text(kind, content.get("name", ""), content.get("address", ""))
    if kind == "button":
        return content.get("text") or attachment_text("file")
    return attachment_text(kind)


register(WhatsAppChannel())
