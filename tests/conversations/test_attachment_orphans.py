"""Files a rolled-back message left in the storage are swept (docs/attachments.md "Files left
behind"): past the grace period only, never a file an attachment holds (nor its thumbnail).

Local storage here, in a directory of the test's own; the S3 store in test_attachments_s3.py.
"""

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from PIL import Image

from conversations.files import orphans
from conversations.files.storage import attachment_storage
from conversations.models import Attachment
from conversations.services import (
    Author,
    OrphanSweep,
    attachment_make_thumbnail,
    attachment_orphans_delete,
    message_post,
)
from conversations.tasks import delete_orphan_attachments
from helpdesk.celery import app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Refused(Exception):
    """Whatever makes a message's transaction fail after its files were written."""


@pytest.fixture
def storage_root(settings, tmp_path) -> Path:
    """The attachment storage in a directory of this test alone."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    return tmp_path


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), "red").save(out, "PNG")
    return out.getvalue()


def post_and_roll_back(conversation, name: str = "lost.pdf") -> None:
    """A message whose transaction fails once its file is in the storage."""
    with pytest.raises(Refused), transaction.atomic():
        message_post(
            conversation=conversation,
            author=Author.customer(),
            body="",
            client_id=f"lost-{name}",
            files=[ContentFile(PDF, name=name)],
        )
        raise Refused


def post_file(conversation, name: str, data: bytes) -> Attachment:
    message, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id=f"kept-{name}",
        files=[ContentFile(data, name=name)],
    )
    return message.attachments.get()


def stored(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def age(root: Path, names: set[str], hours: float) -> None:
    """Make files look written `hours` ago."""
    then = time.time() - hours * 3600
    for name in names:
        os.utime(root / name, (then, then))


@pytest.mark.django_db
def test_a_rolled_back_message_s_file_goes_after_the_grace_period_and_only_it(
    storage_root, start_conversation, support
):
    conversation = start_conversation(team=support)
    kept = post_file(conversation, "invoice.pdf", PDF)
    image = post_file(conversation, "photo.png", png())
    assert attachment_make_thumbnail(attachment=image)
    image.refresh_from_db()
    held = {kept.file.name, image.file.name, image.thumbnail.name}
    post_and_roll_back(conversation, "old.pdf")
    (old_orphan,) = stored(storage_root) - held
    post_and_roll_back(conversation, "young.pdf")
    (young_orphan,) = stored(storage_root) - held - {old_orphan}
    assert not Attachment.objects.filter(file__in=[old_orphan, young_orphan]).exists()
    age(storage_root, held | {old_orphan}, hours=25)  # the grace period is 24 hours
    age(storage_root, {young_orphan}, hours=23)  # its transaction may still be in flight

    removed: list[str] = []
    sweep = attachment_orphans_delete(on_removed=removed.append)

    assert removed == [old_orphan]
    assert sweep.removed == 1 and sweep.examined == 5
    assert stored(storage_root) == held | {young_orphan}
    with Attachment.objects.get(pk=kept.pk).file.open("rb") as data:
        assert data.read() == PDF  # what an attachment holds is untouched


@pytest.mark.django_db
def test_a_thumbnail_left_behind_goes_too(storage_root, start_conversation, support):
    """Two thumbnail tasks of one image (a task may run twice) both write a file; the row
    keeps the first, and the second is an orphan like any other."""
    image = post_file(start_conversation(team=support), "photo.png", png())
    assert attachment_make_thumbnail(attachment=image)
    image.refresh_from_db()
    twin = Attachment.objects.get(pk=image.pk)
    twin.thumbnail = ""
    assert attachment_make_thumbnail(attachment=twin)  # the row keeps the first one
    image.refresh_from_db()
    (left_behind,) = stored(storage_root) - {image.file.name, image.thumbnail.name}
    age(storage_root, stored(storage_root), hours=48)

    assert attachment_orphans_delete().removed == 1

    assert stored(storage_root) == {image.file.name, image.thumbnail.name}
    assert not (storage_root / left_behind).exists()


@pytest.mark.django_db
def test_names_are_looked_up_a_chunk_at_a_time(
    storage_root, start_conversation, support, monkeypatch, django_assert_num_queries
):
    conversation = start_conversation(team=support)
    for number in range(5):
        post_file(conversation, f"file-{number}.pdf", PDF)
    monkeypatch.setattr(orphans, "CHUNK", 2)
    # Two queries a chunk (files, thumbnails), three chunks; no attachment row loaded whole.
    with django_assert_num_queries(6):
        assert attachment_orphans_delete() == OrphanSweep(examined=5, removed=0)


@pytest.mark.django_db
def test_the_command_lists_what_it_deletes_and_a_dry_run_deletes_nothing(
    storage_root, start_conversation, support
):
    conversation = start_conversation(team=support)
    post_and_roll_back(conversation)
    (orphan,) = stored(storage_root)
    age(storage_root, {orphan}, hours=30)

    out = io.StringIO()
    call_command("clean_attachments", "--dry-run", stdout=out)
    assert f"Would delete {orphan}" in out.getvalue()
    assert "1 of 1 files would be deleted" in out.getvalue()
    assert stored(storage_root) == {orphan}

    out = io.StringIO()
    call_command("clean_attachments", stdout=out)
    assert f"Deleted {orphan}" in out.getvalue()
    assert "Deleted 1 of 1 files" in out.getvalue()
    assert stored(storage_root) == set()


@pytest.mark.django_db
def test_the_grace_period_is_a_setting(storage_root, start_conversation, support, settings):
    post_and_roll_back(start_conversation(team=support))
    (orphan,) = stored(storage_root)
    age(storage_root, {orphan}, hours=2)
    assert attachment_orphans_delete().removed == 0
    settings.HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS = 1
    assert attachment_orphans_delete().removed == 1
    assert not attachment_storage.exists(orphan)


@pytest.mark.django_db
def test_a_storage_nothing_was_written_to_yet_is_swept_without_error(storage_root):
    storage_root.rmdir()  # a fresh install: the directory is made with the first file
    assert attachment_orphans_delete() == OrphanSweep(examined=0, removed=0)


def test_a_file_deleted_meanwhile_is_not_taken_for_old(storage_root):
    cutoff = timezone.now()
    assert not orphans.modified_before(attachment_storage, "2026/01/gone", cutoff)
    attachment_storage.save("2026/01/here", ContentFile(b"x"))
    age(storage_root, {"2026/01/here"}, hours=1)
    assert orphans.modified_before(attachment_storage, "2026/01/here", cutoff)


def test_the_sweep_is_on_the_beat_schedule_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["delete-orphan-attachments"]
    assert entry["task"] == delete_orphan_attachments.name
    assert timedelta(seconds=entry["schedule"]) == timedelta(days=1)


def test_a_worker_sweeps_what_a_rolled_back_transaction_left(
    transactional_db, storage_root, make_customer, support
):
    """A real transaction rolls back (no test transaction around it), a real worker sweeps."""
    from conversations.services import conversation_start

    conversation, _ = conversation_start(
        customer=make_customer(), body="Hi", client_id="o-0", team=support
    )
    kept = post_file(conversation, "invoice.pdf", PDF)
    post_and_roll_back(conversation)
    (orphan,) = stored(storage_root) - {kept.file.name}
    age(storage_root, stored(storage_root), hours=48)
    assert not app.conf.task_always_eager
    app.control.purge()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        delete_orphan_attachments.delay()
        deadline = time.monotonic() + 30
        while (storage_root / orphan).exists():
            assert time.monotonic() < deadline, "the orphan was not deleted within 30 s"
            time.sleep(0.2)
    assert stored(storage_root) == {kept.file.name}
