"""The widget and email as channels: they live in the helpdesk itself, so they take no webhook
and send nothing out here. A reply reaches the customer live in the widget (the event log's
push) or by the reply-notification email (conversations/mail); `delivery` stays null."""

from conversations.models import Channel, Inbox, Message

from ..registry import ChannelPlugin, register


class HomeChannel(ChannelPlugin):
    webhook = False

    def send(self, inbox: Inbox, message: Message) -> str:
        raise RuntimeError(f"{self.channel} replies are not delivered through an inbox")


class Web(HomeChannel):
    channel = Channel.WEB


class Email(HomeChannel):
    channel = Channel.EMAIL


register(Web())
register(Email())
