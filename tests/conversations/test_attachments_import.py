"""`import_history` takes attachment records (docs/import.md "Attachments"): links to the
other helpdesk's files, kept as links, by the replay and by the bulk COPY alike."""

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from conversations.files import links
from conversations.models import Attachment, Conversation, ConversationEvent

pytestmark = pytest.mark.django_db(transaction=True)

RECEIPT = {
    "name": "receipt.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "url": "https://files.example.com/t/receipt.pdf",
}
PHOTO = {
    "name": "box.jpg",
    "content_type": "image/jpeg",
    "size": 220_000,
    "url": "https://files.example.com/t/box.jpg",
}


def history(tmp_path, prefix: str) -> str:
    lines = [
        {
            "external_id": f"{prefix}files",
            "channel": "email",
            "team": "Billing",
            "customer": {"external_id": f"{prefix}c1", "name": "Ayşe", "email": "a@x.io"},
            "messages": [
                {
                    "author_kind": "customer",
                    "sent_at": "2026-01-05T09:00:00Z",
                    "attachments": [RECEIPT, PHOTO],
                },
                {
                    "author_kind": "agent",
                    "agent": "alice@example.com",
                    "sent_at": "2026-01-05T09:10:00Z",
                    "attachments": [RECEIPT],
                },
            ],
        },
        {
            "external_id": f"{prefix}bad",
            "customer": {"external_id": f"{prefix}c2"},
            "messages": [
                {
                    "author_kind": "customer",
                    "sent_at": "2026-01-05T09:00:00Z",
                    "attachments": [{**RECEIPT, "url": "javascript:alert(1)"}],
                }
            ],
        },
    ]
    path = tmp_path / f"{prefix}history.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in lines) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", path, "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def imported(prefix: str) -> list[tuple]:
    conversation = Conversation.objects.get(external_id=f"{prefix}files")
    return [
        (
            m.author_kind,
            m.body,
            [
                (a.name, a.content_type, a.size, a.external_url, bool(a.file))
                for a in m.attachments.order_by("id")
            ],
        )
        for m in conversation.messages.order_by("id")
    ]


@pytest.mark.parametrize("mode", [(), ("--bulk",)], ids=["replay", "bulk"])
def test_attachment_records_are_imported_as_links(tmp_path, mode):
    prefix = "bulk-" if mode else "replay-"
    out, err = run(history(tmp_path, prefix), *mode)
    assert "created 1" in out and "rejected 1" in out
    assert "line 2: messages[0].attachments[0].url" in err
    assert imported(prefix) == [
        (
            "customer",
            "",
            [
                ("receipt.pdf", "application/pdf", 48213, RECEIPT["url"], False),
                ("box.jpg", "image/jpeg", 220_000, PHOTO["url"], False),
            ],
        ),
        ("agent", "", [("receipt.pdf", "application/pdf", 48213, RECEIPT["url"], False)]),
    ]
    conversation = Conversation.objects.get(external_id=f"{prefix}files")
    # A file alone is a message like any other: the agent's answered the customer.
    assert conversation.waiting_since is None
    assert conversation.last_message_preview == "📎 receipt.pdf"
    event = (
        ConversationEvent.objects.filter(conversation=conversation).exclude(message=None).first()
    )
    assert [item["name"] for item in event.data["attachments"]] == ["receipt.pdf", "box.jpg"]
    # The link of an imported file sends its reader to the other helpdesk's address.
    attachment = Attachment.objects.filter(message__conversation=conversation).first()
    link = links.sign(attachment.pk, links.customer_reader(conversation.customer_id))
    response = APIClient().get(link)
    assert response.status_code == 302 and response["Location"] == RECEIPT["url"]
