"""Reads of the channels app: the channels and inboxes that pages offer as choices."""

from collections import Counter
from typing import Any

from conversations.models import Channel, Inbox
from conversations.selectors import conversation_channels

from .registry import channels, plugin_for


def channel_choices() -> list[dict[str, str]]:
    """Every registered channel (the built-in ones in their usual order), plus any an import
    brought in, as {"value", "label", "icon"} (icon: the plug-in's, "" for imported ones)."""
    labels = dict(Channel.choices)
    rank = {name: number for number, name in enumerate(labels)}
    registered = sorted(channels(), key=lambda name: (rank.get(name, len(rank)), name))
    names = registered + sorted(set(conversation_channels()) - set(registered))
    return [
        {"value": name, "label": str(labels.get(name, name)), "icon": _icon(name)} for name in names
    ]


def _icon(channel: str) -> str:
    plugin = plugin_for(channel)
    return plugin.icon if plugin else ""


def lives_here(channel: str) -> bool:
    """The widget and email: channels with one inbox each, inside the helpdesk."""
    plugin = plugin_for(channel)
    return plugin is not None and not plugin.webhook


def inbox_label(inbox: Inbox) -> str:
    """An inbox as pages name it: the widget's and email's by their channel (in the page's
    language), the others by the name an admin gave them and their channel ("Shop (WhatsApp)")."""
    channel = str(dict(Channel.choices).get(inbox.channel, inbox.channel))
    if lives_here(inbox.channel):
        return channel
    return f"{inbox.name} ({channel})"


def inbox_choices() -> list[dict[str, Any]]:
    """Every inbox as {"id", "name"}, the widget's and email's first. Names need not be
    unique: two inboxes of one channel with the same name are told apart by their ids."""
    inboxes = sorted(
        Inbox.objects.all(), key=lambda inbox: (not lives_here(inbox.channel), inbox.name.lower())
    )
    labels = Counter(inbox_label(inbox) for inbox in inboxes)
    return [
        {"id": inbox.pk, "name": _unique(inbox_label(inbox), inbox.pk, labels)} for inbox in inboxes
    ]


def _unique(label: str, inbox_id: int, labels: Counter[str]) -> str:
    return f"{label} #{inbox_id}" if labels[label] > 1 else label
