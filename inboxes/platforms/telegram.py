"""Telegram Bot API: updates posted to the webhook with X-Telegram-Bot-Api-Secret-Token,
replies through POST {api_base_url}/bot{token}/sendMessage.

Docs: https://core.telegram.org/bots/api#setwebhook, https://core.telegram.org/bots/api#update,
https://core.telegram.org/bots/api#sendmessage
"""

from collections.abc import Mapping
from typing import Any

from conversations.models import Channel, Inbox, Message

from .. import credentials
from ..registry import ChannelPlugin, DeliveryError, Inbound, Setting, StatusUpdate, register
from .graph import attachment_text


class TelegramChannel(ChannelPlugin):
    channel = Channel.TELEGRAM
    icon = "M21 4L3 11l6 2 2 6 3-4 5 4zM9 13l9-7"
    max_length = 4096  # sendMessage: 1-4096 characters
    settings = (
        Setting("bot_token", secret=True),
        Setting("secret_token", secret=True),
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
        return [Inbound(chat, name, _body(message), external_id)]

    def send(self, inbox: Inbox, message: Message) -> str:
        base = self.value(inbox, "api_base_url").rstrip("/")
        chat = message.conversation.customer.external_id.partition(":")[2]
        payload = {
            "chat_id": int(chat) if chat.lstrip("-").isdigit() else chat,
            "text": message.body,
        }
        response = self.post(f"{base}/bot{self.value(inbox, 'bot_token')}/sendMessage", payload)
        try:
            answer = response.json()
            if not answer.get("ok"):
                raise DeliveryError(str(answer.get("description", "")), permanent=True)
            return f"{chat}:{answer['result']['message_id']}"
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unexpected answer: {response.text[:200]}") from error


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
