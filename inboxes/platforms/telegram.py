"""Telegram Bot API: updates posted to the webhook with X-Telegram-Bot-Api-Secret-Token,
replies through POST {api_base_url}/bot{token}/sendMessage. A customer's photo or file is
downloaded with getFile, then GET {api_base_url}/file/bot{token}/{file_path}.

Docs: https://core.telegram.org/bots/api#setwebhook, https://core.telegram.org/bots/api#update,
https://core.telegram.org/bots/api#sendmessage, https://core.telegram.org/bots/api#getfile
"""

from collections.abc import Mapping
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy
from requests import Response

from conversations.models import Attachment, Channel, Inbox, Message

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
from .graph import attachment_text


class TelegramChannel(ChannelPlugin):
    channel = Channel.TELEGRAM
    icon = "M21 4L3 11l6 2 2 6 3-4 5 4zM9 13l9-7"
    max_length = 4096  # sendMessage: 1-4096 characters
    settings = (
        Setting("bot_token", secret=True),
        Setting(
            "secret_token",
            secret=True,
            pattern=r"[A-Za-z0-9_-]{1,256}",  # what setWebhook takes
            pattern_hint=gettext_lazy("1 to 256 characters: letters A-Z, a-z, digits, _ and -."),
        ),
        Setting("api_base_url", url=True, default="HELPDESK_TELEGRAM_API_BASE_URL"),
    )

    def signature_ok(self, inbox: Inbox, headers: Mapping[str, str], body: bytes) -> bool:
        return credentials.same(
            headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.value(inbox, "secret_token")
        )

    def parse(self, inbox: Inbox, payload: Any) -> list[Inbound | StatusUpdate]:
        message = payload.get("message") or payload.get("business_message")
        if not isinstance(message, dict):
            return []  # edits, channel posts, callbacks: not conversations
        chat = str(message["chat"]["id"])
        sender = message.get("from") or {}
        name = " ".join(
            part for part in (sender.get("first_name"), sender.get("last_name")) if part
        ) or sender.get("username", "")
        external_id = f"{chat}:{message['message_id']}"
        media = self._media(inbox, message)
        body = message.get("caption", "") if media else _body(message)
        return [Inbound(chat, name, body, external_id, (media,) if media else ())]

    def _media(self, inbox: Inbox, message: dict[str, Any]) -> Media | None:
        """The message's photo (its largest size) or file, to download; stickers and
        locations stay text."""
        if message.get("photo"):
            return Media("", partial(self.fetch_file, inbox, message["photo"][-1]["file_id"], ""))
        for kind in FILE_KINDS:
            content = message.get(kind)
            if isinstance(content, dict) and content.get("file_id"):
                name = str(content.get("file_name", ""))
                return Media(name, partial(self.fetch_file, inbox, content["file_id"], name))
        return None

    def max_file_bytes(self, content_type: str) -> int | None:
        return 50 * MB  # sendDocument's limit (a larger photo goes as a document)

    def fetch_file(self, inbox: Inbox, file_id: str, name: str) -> ContentFile:
        """getFile gives the file's path (valid for an hour), then its bytes."""
        base = self.value(inbox, "api_base_url").rstrip("/")
        token = self.value(inbox, "bot_token")
        response = self.post(f"{base}/bot{token}/getFile", {"file_id": file_id})
        try:
            path = str(response.json()["result"]["file_path"])
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error
        return self.download(f"{base}/file/bot{token}/{path}", name or PurePosixPath(path).name)

    def send(self, inbox: Inbox, message: Message) -> str:
        """The reply's text (sendMessage), then each of its files (sendPhoto for a photo
        Telegram shows, sendDocument for any other file), uploaded as multipart. Returns the
        first one's id. A retry after a failed file sends the text again (at least once)."""
        base = self.value(inbox, "api_base_url").rstrip("/")
        bot = f"{base}/bot{self.value(inbox, 'bot_token')}"
        chat = message.conversation.customer.external_id.partition(":")[2]
        chat_id = int(chat) if chat.lstrip("-").isdigit() else chat
        sent = []
        if message.body:
            response = self.post(f"{bot}/sendMessage", {"chat_id": chat_id, "text": message.body})
            sent.append(_sent_id(response, chat))
        for attachment in message.attachments.all():
            if attachment.file:  # an imported link has no bytes to upload
                sent.append(_sent_id(self._send_file(bot, chat_id, attachment), chat))
        return sent[0] if sent else ""

    def _send_file(self, bot: str, chat_id: int | str, attachment: Attachment) -> Response:
        is_photo = attachment.content_type in PHOTO_TYPES and attachment.size <= PHOTO_MAX_BYTES
        field = "photo" if is_photo else "document"
        method = "sendPhoto" if field == "photo" else "sendDocument"
        with attachment.file.open("rb") as data:
            upload = {field: (attachment.name, data, attachment.content_type)}
            return self.post(f"{bot}/{method}", data={"chat_id": chat_id}, files=upload)


def _sent_id(response: Response, chat: str) -> str:
    """Our id of a message Telegram took: its chat and message id."""
    try:
        answer = response.json()
        if not answer.get("ok"):
            raise DeliveryError(str(answer.get("description", "")), permanent=True)
        return f"{chat}:{answer['result']['message_id']}"
    except (ValueError, KeyError, TypeError) as error:
        raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error


# Images sendPhoto takes and shows as photos (a GIF would lose its animation: a document).
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PHOTO_MAX_BYTES = 10 * MB  # sendPhoto's limit
# Kinds of file a message may carry, downloaded like a photo (stickers are not files to keep).
FILE_KINDS = ("document", "video", "audio", "voice")


def _body(message: dict[str, Any]) -> str:
    caption = message.get("caption", "")
    if message.get("text"):
        return message["text"]
    if message.get("photo"):
        return attachment_text("image", "", caption)
    for kind in ("document", "video", "audio", "voice", "sticker"):
        if message.get(kind):
            label = "sticker" if kind == "sticker" else "file" if kind == "document" else kind
            name = (message[kind] or {}).get("file_name", "")
            return attachment_text("audio" if kind == "voice" else label, name, caption)
    if message.get("location"):
        return attachment_text("location")
    return attachment_text("file", "", caption)


register(TelegramChannel())
