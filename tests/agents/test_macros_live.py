# ruff: noqa: F811  (test functions take the imported fixtures by name)
"""A macro's changes go out live like any other: the customer's socket receives the reply and
the new status, never a macro's private note; a colleague's agent socket hears everything."""

import pytest

from agents.macros import macro_apply
from agents.models import Macro, MacroAssign
from tests.conversations.socket_fixtures import (  # noqa: F401
    agent_path,
    customer_path,
    fresh_channel_layer,
    make_agent,
)
from tests.conversations.test_consumers import db, resume, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def apply(name: str, conversation, by):
    return macro_apply(macro=Macro.objects.get(name=name), conversation=conversation, by=by)


def make_macros() -> None:
    Macro.objects.create(
        name="Ask",
        body="Your order number, {{customer.first_name}}?",
        status="pending",
        add_labels=["order"],
        assign=MacroAssign.ME,
    )
    Macro.objects.create(name="Note", body="Checked the warehouse.", private=True)


async def test_the_customer_hears_a_macros_reply_and_status_but_not_its_note(
    make_team, make_agent, make_customer, start_conversation
):
    team = await db(make_team)("Support", is_default=True)
    agent = await db(make_agent)(teams=[team], capacity=3)
    colleague = await db(make_agent)(teams=[team])
    customer = await db(make_customer)("Deniz Kaya")
    conversation = await db(start_conversation)(customer, team=team)
    await db(make_macros)()
    colleague_path = await db(agent_path)(colleague)
    async with socket(customer_path(customer)) as widget, socket(colleague_path) as desk:
        await resume(widget, None)
        await resume(desk, None)
        await db(apply)("Ask", conversation, agent)
        await db(apply)("Note", conversation, agent)
        customer_heard, colleague_heard = await everything(widget), await everything(desk)
    assert bodies(customer_heard) == ["Your order number, Deniz?"]
    assert bodies(colleague_heard) == ["Your order number, Deniz?", "Checked the warehouse."]
    for heard in (customer_heard, colleague_heard):
        updates = [event["data"] for event in heard if event["type"] == "conversation.updated"]
        assert updates[-1]["status"] == "pending"
        assert any(event["type"] == "conversation.assigned" for event in heard)


async def everything(communicator) -> list[dict]:
    """Every event until the socket is quiet for a second (presence changes aside)."""
    heard = []
    while not await communicator.receive_nothing(timeout=1, interval=0.02):
        heard.append(await communicator.receive_json_from())
    return [event for event in heard if event["type"] != "presence"]


def bodies(events: list[dict]) -> list[str]:
    return [event["data"]["body"] for event in events if event["type"] == "message.created"]
