"""Canned responses: creating them, and filling their placeholders when an agent uses one."""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput
from conversations.models import Conversation, Team
from conversations.people import public_name

from .models import CannedResponse

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


def placeholder_values(conversation: Conversation, agent_user: Any) -> dict[str, str]:
    """Every placeholder a canned response may use, as plain text."""
    customer = conversation.customer
    return {
        "customer.name": customer.name,
        "customer.first_name": customer.name.split(" ")[0] if customer.name else "",
        "customer.email": customer.email,
        # The customer reads these: the name they see on the agent's messages.
        "agent.name": public_name(agent_user),
        "agent.first_name": public_name(agent_user).split(" ")[0],
        "agent.email": agent_user.email,
        "conversation.id": str(conversation.pk),
        "team.name": conversation.team.name if conversation.team else "",
    }


def render_canned(body: str, *, conversation: Conversation, agent_user: Any) -> str:
    """Fill {{customer.name}}-style placeholders; unknown ones stay as written.

    Values go in as plain text: message bodies are plain text, escaped wherever shown.
    """
    values = placeholder_values(conversation, agent_user)

    def fill(match: re.Match[str]) -> str:
        return values.get(f"{match[1]}.{match[2]}", match[0])

    return PLACEHOLDER.sub(fill, body)


@transaction.atomic
def canned_response_create(*, shortcut: str, body: str, team: Team | None = None) -> CannedResponse:
    if not body.strip():
        raise InvalidInput(
            _("Write the response first."), fields={"body": _("This field is required.")}
        )
    try:
        with transaction.atomic():
            return CannedResponse.objects.create(shortcut=shortcut, body=body, team=team)
    except IntegrityError as error:
        message = _("A canned response with this shortcut already exists.")
        raise InvalidInput(message, code="duplicate", fields={"shortcut": message}) from error
