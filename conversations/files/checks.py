"""What a file is, told from its bytes, and whether the helpdesk takes it.

The type a browser or a mail client claims is never trusted: `filetype` reads the magic
numbers of binary formats, and a file that has none is text only if it decodes as UTF-8
without control characters and is not markup (HTML, SVG and XML could carry script).
Refusals are HelpdeskErrors in the API's shape: 413 `too_large`, 415 `unsupported_type`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import filetype
from django.conf import settings
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ..errors import HelpdeskError, InvalidInput

SNIFF_BYTES = 64 * 1024  # enough for every magic number, and to judge text
NAME_LIMIT = 200
# Raster images browsers show inline and Pillow thumbnails; never SVG (it may carry script).
RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# What starts a markup document: refused even when the rest reads as text.
MARKUP_STARTS = ("<!doctype", "<html", "<svg", "<?xml", "<script", "<head", "<body", "<iframe")
CONTROL_CHARACTERS = frozenset(range(0, 32)) - {9, 10, 12, 13}  # tab, LF, FF, CR are text


class TooLarge(HelpdeskError):
    status = 413
    code = "too_large"


class UnsupportedType(HelpdeskError):
    status = 415
    code = "unsupported_type"


@dataclass(frozen=True)
class CheckedFile:
    """A file the helpdesk takes: its shown name, its sniffed type, its size and its bytes."""

    name: str
    content_type: str
    size: int
    file: File


@dataclass(frozen=True)
class LinkedFile:
    """A file known by its address only (a record of another helpdesk, docs/import.md):
    nothing is stored or fetched; its download link sends the reader there."""

    name: str
    content_type: str
    size: int
    url: str


StoredFile = CheckedFile | LinkedFile  # a message's file: uploaded and checked, or a link


def sniff(head: bytes, name: str = "") -> str:
    """The content type of a file whose first bytes are `head` ("" when unknown)."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    if _is_text(head):
        return "text/csv" if PurePath(name).suffix.lower() == ".csv" else "text/plain"
    if _looks_like_markup(head):
        return "text/html"
    return ""


def _is_text(head: bytes) -> bool:
    if not head or any(byte in CONTROL_CHARACTERS for byte in head):
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # the sample may end inside a character
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return not _looks_like_markup(text.encode())


def _looks_like_markup(head: bytes) -> bool:
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return any(start.startswith(tag.encode()) for tag in MARKUP_STARTS)


def clean_name(name: Any) -> str:
    """The name shown and offered when downloading: the last path part, printable, cut to fit."""
    base = PurePath(str(name or "").replace("\\", "/")).name
    base = "".join(c for c in base if c.isprintable() and c not in '"<>').strip(" .")
    if len(base) > NAME_LIMIT:
        suffix = PurePath(base).suffix[:20]
        base = base[: NAME_LIMIT - len(suffix)] + suffix
    return base or _("file")


def allowed_types() -> frozenset[str]:
    return frozenset(settings.HELPDESK_ATTACHMENT_TYPES)


def too_large_message() -> str:
    return _("Files are limited to %(size)s each.") % {
        "size": filesizeformat(settings.HELPDESK_ATTACHMENT_MAX_BYTES)
    }


def too_many_message() -> str:
    return _("At most %(count)d files per message.") % {
        "count": settings.HELPDESK_ATTACHMENT_MAX_FILES
    }


def check_count(count: int) -> None:
    if count > settings.HELPDESK_ATTACHMENT_MAX_FILES:
        message = too_many_message()
        raise TooLarge(message, fields={"files": message})


def check_file(upload: File) -> CheckedFile:
    """One file as it came (an upload, an email part): its size and sniffed type checked."""
    name = clean_name(getattr(upload, "name", ""))
    size = upload.size
    if size is None or size > settings.HELPDESK_ATTACHMENT_MAX_BYTES:
        message = too_large_message()
        raise TooLarge(message, fields={"files": f"{name}: {message}"})
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head:
        message = _("“%(name)s” is empty.") % {"name": name}
        raise InvalidInput(message, fields={"files": message})
    content_type = sniff(head, name)
    if content_type not in allowed_types():
        message = _("Files of this type cannot be sent: %(name)s.") % {"name": name}
        raise UnsupportedType(message, fields={"files": message})
    return CheckedFile(name=name, content_type=content_type, size=size, file=upload)


def check_files(files: Sequence[File | StoredFile]) -> list[StoredFile]:
    """Every file of a message (one checked before, or a link, kept as it is), or one refusal
    naming every file that breaks a limit, so the sender can fix them all at once."""
    check_count(len(files))
    checked: list[StoredFile] = []
    refusals: list[HelpdeskError] = []
    for file in files:
        if isinstance(file, StoredFile):
            checked.append(file)
            continue
        try:
            checked.append(check_file(file))
        except HelpdeskError as error:
            refusals.append(error)
    if refusals:
        raise _together(refusals)
    return checked


def _together(refusals: list[HelpdeskError]) -> HelpdeskError:
    """Refusals of several files as one, of the first one's kind (its status and code)."""
    if len(refusals) == 1:
        return refusals[0]
    reasons = [str(error.fields.get("files", error.message)) for error in refusals]
    return type(refusals[0])(" ".join(reasons), code=refusals[0].code, fields={"files": reasons})


def is_raster_image(content_type: str) -> bool:
    return content_type in RASTER_IMAGES
