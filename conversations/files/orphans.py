"""Files in the storage that no attachment holds.

A message's files are written to the storage before its transaction commits (the storage is
no part of the transaction): when the transaction rolls back, or a message is deleted, its
files stay behind. services.attachment_orphans_delete sweeps them, once they are older than
HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS, so the file of a transaction still in flight is never
taken (docs/attachments.md "Files left behind").

Built for large storages: names are walked lazily, directory by directory, and checked
against the database a chunk at a time (indexed `IN` look-ups), so neither the storage's
names nor the attachment rows are ever all in memory. Only the names no row holds cost a
request for their age (a HEAD on S3).
"""

import posixpath
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice

from django.core.files.storage import Storage

from ..models import Attachment

CHUNK = 1000  # names per database look-up


def stored_names(storage: Storage, directory: str = "") -> Iterator[str]:
    """Every file's name in the storage, walking its directories (S3: key prefixes)."""
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:  # local files: no file was ever stored (the directory is made then)
        return
    for name in sorted(files):
        yield posixpath.join(directory, name)
    for name in sorted(directories):
        yield from stored_names(storage, posixpath.join(directory, name))


def chunks(names: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(names)
    while chunk := list(islice(iterator, size)):
        yield chunk


def unreferenced(names: list[str]) -> list[str]:
    """The names that are neither an attachment's file nor its thumbnail."""
    held = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    held.update(Attachment.objects.filter(thumbnail__in=names).values_list("thumbnail", flat=True))
    return [name for name in names if name not in held]


def modified_before(storage: Storage, name: str, cutoff: datetime) -> bool:
    """Whether the file was last written before `cutoff` (False when it is gone already: a
    sweep run by hand beside the periodic one deleted it)."""
    try:
        return storage.get_modified_time(name) < cutoff
    except Exception:  # each backend says "missing" its own way (S3: a ClientError 404)
        if storage.exists(name):
            raise
        return False
