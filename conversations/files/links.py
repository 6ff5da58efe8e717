"""Download links: signed, bound to one reader, expiring (docs/attachments.md "Security").

A link names an attachment and its reader: a customer (`c<id>`, for the widget and emails)
or a staff user (`u<id>`). The link is the customer's credential (an `<img>` on the shop's
page cannot send the widget's token), so it expires after HELPDESK_ATTACHMENT_URL_SECONDS;
a staff user's link works only in that user's own session or with their API token. Either
way the download re-checks that the reader may still read the conversation (selectors).

Links are signed at the start of a time window, not at each second: the same file read twice
within the window has the same URL, so browsers reuse what they downloaded.
"""

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .checks import is_raster_image

SALT = "helpdesk.attachment"
WINDOW_SECONDS = 600


def customer_reader(customer_id: int) -> str:
    return f"c{customer_id}"


def user_reader(user_id: int) -> str:
    return f"u{user_id}"


class WindowSigner(signing.TimestampSigner):
    """A TimestampSigner whose timestamp is the start of the current window."""

    def timestamp(self) -> str:
        now = int(time.time())
        return signing.b62_encode(now - now % window_seconds())


def window_seconds() -> int:
    return max(1, min(WINDOW_SECONDS, settings.HELPDESK_ATTACHMENT_URL_SECONDS // 2))


@dataclass(frozen=True)
class Link:
    attachment_id: int
    reader: str
    thumbnail: bool


def sign(
    attachment_id: int, reader: str, *, thumbnail: bool = False, seconds: int | None = None
) -> str:
    """The path of the download link (relative to the helpdesk's base URL). `seconds`: a
    lifetime other than HELPDESK_ATTACHMENT_URL_SECONDS (an email's links live as long as
    its resume link)."""
    value: dict[str, Any] = {"a": attachment_id, "r": reader}
    if thumbnail:
        value["t"] = 1
    if seconds is not None:
        value["s"] = seconds
    token = WindowSigner(salt=SALT).sign_object(value, compress=False)
    return reverse("conversations_api:file", kwargs={"token": token})


def read(token: str) -> Link | None:
    """The link's attachment and reader, if it is ours and has not expired."""
    signer = WindowSigner(salt=SALT)
    try:
        value = signer.unsign_object(token)  # signed by us: its own lifetime can be trusted
        seconds = value.get("s", settings.HELPDESK_ATTACHMENT_URL_SECONDS)
        signer.unsign_object(token, max_age=seconds)
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None
    attachment_id, reader = value.get("a"), value.get("r")
    if not isinstance(attachment_id, int) or not isinstance(reader, str) or len(reader) < 2:
        return None
    if reader[0] not in "cu" or not reader[1:].isdigit():
        return None
    return Link(attachment_id, reader, value.get("t") == 1)


def with_links(message: dict[str, Any], reader: str) -> dict[str, Any]:
    """The message shape with each attachment's `url` (and `thumbnail_url` for images) signed
    for `reader`. The event log keeps messages without links (they expire; readers differ)."""
    attachments = message.get("attachments")
    if not attachments:
        return message
    return {**message, "attachments": [_linked(item, reader) for item in attachments]}


def _linked(attachment: dict[str, Any], reader: str) -> dict[str, Any]:
    linked = {**attachment, "url": sign(attachment["id"], reader)}
    if is_raster_image(attachment.get("content_type", "")):
        linked["thumbnail_url"] = sign(attachment["id"], reader, thumbnail=True)
    return linked


def event_with_links(event: dict[str, Any], reader: str) -> dict[str, Any]:
    """A `message.created` event envelope with links for its reader; other events as they are."""
    data = event.get("data")
    if event.get("type") != "message.created" or not isinstance(data, dict):
        return event
    if not data.get("attachments"):
        return event
    return {**event, "data": with_links(data, reader)}
