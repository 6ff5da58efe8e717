"""On the site now, live: a visitor arriving (their widget socket opens), leaving (it
closes) or opening another page reaches the agents who may see them, as a `visitor` event
without a cursor, like typing and presence (docs/workspace.md "On the site now").

Who may see a visitor is selectors.customers_visible_to_agent, said in groups: a customer
without conversations is every agent's (`inbox` holds every agent's socket, `admins` the
admins'); one with conversations is theirs who may read one of them: the conversations'
teams, their assignees, and every agent for a conversation without a team. The event is a
hint: the workspace still reads GET /api/v1/visitors now and then, which decides.
"""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from .. import selectors
from ..models import Conversation, Customer
from ..serializers import iso
from .access import user_group
from .presence import customer_is_online


def visitor_groups(customer_id: int) -> list[str]:
    """The agent sockets' groups that may see the customer."""
    rows = (
        Conversation.objects.filter(customer_id=customer_id)
        .values_list("team_id", "assignee_id")
        .distinct()
    )
    groups = {"admins"}
    for team_id, assignee_id in rows:
        groups.add(f"team.{team_id}" if team_id else "inbox")
        if assignee_id:
            groups.add(user_group(assignee_id))
    return sorted(groups) if len(groups) > 1 else ["admins", "inbox"]


def visitor_event(customer: Customer) -> dict[str, Any]:
    """`data` is a visitor as GET /api/v1/visitors lists them; `online` false: gone."""
    from ..api.customers import visitor_payload  # the one shape of a visitor

    current = selectors.current_pageviews([customer]).get(customer.pk)
    online = customer_is_online(customer.pk)
    return {
        "type": "visitor",
        "at": iso(timezone.now()),
        "data": visitor_payload(customer, [current] if current else [], online),
    }


def visitor_update(customer_id: int) -> tuple[list[str], dict[str, Any]] | None:
    """(groups, event) for the customer as they are now; None if they no longer exist."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    return visitor_groups(customer_id), visitor_event(customer)


def broadcast_visitor(customer_id: int) -> None:
    """Tell the agents who may see the customer where they are now (after a page view)."""
    layer = get_channel_layer()
    update = visitor_update(customer_id)
    if layer is None or update is None:
        return
    groups, event = update
    send = async_to_sync(layer.group_send)
    for group in groups:
        send(group, {"type": "event.publish", "event": event})
