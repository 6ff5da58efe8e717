"""Attachments in an S3-compatible store (docs/attachments.md "Storage"), against a real S3
server on 127.0.0.1 (moto's, started here), through django-storages: the same settings as
HELPDESK_S3_BUCKET and friends build."""

import io
from collections.abc import Iterator

import boto3
import pytest
from django.core.files.base import ContentFile
from moto.server import ThreadedMotoServer
from PIL import Image
from rest_framework.test import APIClient

from conversations.files import links
from conversations.models import Attachment
from conversations.services import Author, attachment_make_thumbnail, message_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

BUCKET = "helpdesk-files"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    """STORAGES["attachments"] as settings.py builds it for HELPDESK_S3_BUCKET."""
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **KEYS)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "location": "attachments",
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), "green").save(out, "JPEG")
    return out.getvalue()


def test_files_go_to_the_bucket_and_come_back_through_signed_links(
    bucket, start_conversation, support
):
    conversation = start_conversation(team=support)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {conversation.customer.token}")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/v1/widget/conversations/{conversation.pk}/messages",
        {
            "client_id": "s3-1",
            "files": [SimpleUploadedFile("view.jpg", photo(), content_type="image/jpeg")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    item = response.json()["attachments"][0]
    attachment = Attachment.objects.get(pk=item["id"])
    keys = [entry["Key"] for entry in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"attachments/{attachment.file.name}"]
    stored = bucket.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert stored == photo()
    # Downloaded through the helpdesk, which checks the reader first.
    download = client.get(item["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == photo()
    # The thumbnail is made from the bucket and kept there.
    assert attachment_make_thumbnail(attachment=attachment)
    assert len(bucket.list_objects_v2(Bucket=BUCKET)["Contents"]) == 2
    thumbnail = client.get(item["thumbnail_url"])
    with Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))) as image:
        assert image.size == (480, 360)


def test_files_in_the_bucket_are_private_and_served_to_their_readers_only(
    bucket, start_conversation, support
):
    conversation = start_conversation(team=support)
    message, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id="s3-2",
        files=[ContentFile(b"%PDF-1.4\n%%EOF\n", name="contract.pdf")],
    )
    key = f"attachments/{message.attachments.get().file.name}"
    acl = bucket.get_object_acl(Bucket=BUCKET, Key=key)
    assert not [grant for grant in acl["Grants"] if "URI" in grant["Grantee"]]  # no AllUsers
    foreign = links.customer_reader(conversation.customer_id + 1)
    assert APIClient().get(links.sign(message.attachments.get().pk, foreign)).status_code == 404


def test_files_a_rolled_back_message_left_in_the_bucket_are_swept_past_the_grace_period(
    bucket, start_conversation, support, settings
):
    from django.db import transaction
    from django.utils import timezone

    from conversations.files import orphans
    from conversations.files.storage import attachment_storage
    from conversations.services import attachment_orphans_delete

    conversation = start_conversation(team=support)
    image, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body="",
        client_id="s3-kept",
        files=[ContentFile(photo(), name="view.jpg")],
    )
    attachment = image.attachments.get()
    assert attachment_make_thumbnail(attachment=attachment)
    attachment.refresh_from_db()
    held = {f"attachments/{attachment.file.name}", f"attachments/{attachment.thumbnail.name}"}
    with pytest.raises(RuntimeError), transaction.atomic():
        message_post(
            conversation=conversation,
            author=Author.customer(),
            body="",
            client_id="s3-lost",
            files=[ContentFile(b"%PDF-1.4\n%%EOF\n", name="lost.pdf")],
        )
        raise RuntimeError("the message's transaction fails after its file went to the bucket")

    def keys() -> set[str]:
        return {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}

    (orphan,) = keys() - held
    settings.HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS = 1  # the orphan is seconds old: kept
    assert attachment_orphans_delete().removed == 0
    assert keys() == held | {orphan}

    settings.HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS = 0  # S3 keeps whole seconds: now is later
    removed: list[str] = []
    sweep = attachment_orphans_delete(on_removed=removed.append)
    assert (sweep.examined, sweep.removed) == (3, 1)
    assert removed == [orphan.removeprefix("attachments/")]
    assert keys() == held
    # A file another sweep deleted meanwhile is not old, and no error.
    assert not orphans.modified_before(attachment_storage, removed[0], timezone.now())
