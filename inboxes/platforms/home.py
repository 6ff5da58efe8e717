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
    icon = "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm-8.5 9h17M12 3c2.5 2.7 3.5 5.7 3.5 9s-1 6.3-3.5 9c-2.5-2.7-3.5-5.7-3.5-9s1-6.3 3.5-9z"


class Email(HomeChannel):
    channel = Channel.EMAIL
    icon = "M3 6h18v12H3zM3 6l9 7 9-7"


register(Web())
register(Email())
