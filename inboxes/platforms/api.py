"""The `api` channel: any system posts customer messages with the inbox's secret
(POST /api/v1/channels/{id}/messages) and receives agent replies as signed webhooks."""

import json
from collections.abc import Mapping

from conversations.models import Channel, Conversation, Inbox, Message
from conversations.serializers import conversation_payload, customer_view, message_payload

from .. import credentials
from ..registry import ChannelPlugin, DeliveryError, register

SIGNATURE_HEADER = "X-Helpdesk-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + credentials.hmac_sha256(secret, body)


def webhook_body(message: Message, conversation: Conversation) -> bytes:
    """The JSON of a reply's webhook; the customer's view of the conversation (no agents'
    emails or labels leave the helpdesk)."""
    event = {
        "event": "message.created",
        "message": message_payload(message),
        "conversation": customer_view(conversation_payload(conversation)),
    }
    return json.dumps(event, ensure_ascii=False).encode()


class ApiChannel(ChannelPlugin):
    channel = Channel.API
    icon = "M9 4c-2 0-3 1-3 3v3l-2 2 2 2v3c0 2 1 3 3 3M15 4c2 0 3 1 3 3v3l2 2-2 2v3c0 2-1 3-3 3"

    def secret(self, inbox: Inbox) -> str:
        return credentials.unseal(inbox.settings.get("secret", ""))

    def bearer_ok(self, inbox: Inbox, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and credentials.same(token.strip(), self.secret(inbox))

    def send(self, inbox: Inbox, message: Message) -> str:
        if not inbox.webhook_url:
            raise DeliveryError("the inbox has no webhook URL", permanent=True)
        body = webhook_body(message, message.conversation)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret(inbox), body),
            "User-Agent": "Helpdesk-Webhook/1",
        }
        try:
            self.post(inbox.webhook_url, data=body, headers=headers)
        except DeliveryError as error:
            # Until a 2xx: the receiving system decides when it has the reply.
            raise DeliveryError(str(error), status=error.status) from error
        return ""


register(ApiChannel())
