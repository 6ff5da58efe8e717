"""Reports slice by the new channels: a WhatsApp conversation's first response counts under
channel=whatsapp and nowhere else, the same after a full rebuild."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations.events import publish_pending_events
from conversations.models import Conversation
from conversations.services import Author, message_post
from inboxes import services
from inboxes.registry import Inbound
from reports.services import process_new_events

pytestmark = pytest.mark.django_db(transaction=True)  # the rebuild runs outside a transaction


def first_responses(client, channel: str) -> int:
    now = timezone.now()
    period = {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }
    answer = client.get("/api/v1/reports/summary", {**period, "channel": channel})
    assert answer.status_code == 200, answer.content
    return answer.json()["first_response_time"]["count"]


def test_a_whatsapp_first_response_counts_under_whatsapp_before_and_after_a_rebuild(
    logged_in, make_agent, support
):
    agent = make_agent(teams=[support], is_superuser=True)
    inbox, _secret = services.inbox_create(
        channel="whatsapp",
        name="WA",
        channel_settings={
            "phone_number_id": "1",
            "access_token": "t",
            "app_secret": "a",
            "verify_token": "v",
        },
    )
    services.receive_message(inbox=inbox, inbound=Inbound("90555", "Ece", "Hello?", "wamid.1"))
    conversation = Conversation.objects.get(inbox=inbox)
    message_post(
        conversation=conversation, author=Author.of_agent(agent), body="Hi!", client_id="r"
    )
    publish_pending_events()
    process_new_events()
    client = logged_in(agent)

    incremental = {channel: first_responses(client, channel) for channel in ("whatsapp", "web")}
    call_command("rebuild_reports")
    rebuilt = {channel: first_responses(client, channel) for channel in ("whatsapp", "web")}

    assert incremental == rebuilt == {"whatsapp": 1, "web": 0}
