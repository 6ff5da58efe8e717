"""The bot (docs/bot.md): who it answers, what it says, the handover that queues and routes
like a new conversation, the calls of shared/API.md, and its figures in the reports."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Presence
from bot.services import resolve_idle_bot_conversations
from conversations.errors import NotAllowed
from conversations.events import publish_pending_events
from conversations.models import AuthorKind, BotMode, Conversation, ConversationEvent
from conversations.services import (
    Author,
    conversation_assign,
    conversation_hand_over,
    conversation_resolve,
    conversation_start,
    message_post,
)
from reports.selectors import Slice, summary
from reports.services import process_new_events
from tests.conftest import unique
from tests.reports.test_reports import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_article):
    """A help center with an English and a Turkish article about delivery."""
    return (
        make_article("Where is my parcel?", "Track your delivery with the link in the email."),
        make_article("Kargom nerede?", "Kargonuzu e-postadaki bağlantıyla izleyin.", "tr"),
    )


def live() -> None:
    """What happens after a live commit: events are published, receivers react (the bot
    answers, routing assigns), and what they wrote is published in turn."""
    while publish_pending_events():
        pass


def write(conversation: Conversation, body: str) -> None:
    message_post(
        conversation=conversation, author=Author.customer(), body=body, client_id=unique("m")
    )
    live()


def bot_messages(conversation: Conversation) -> list[str]:
    return list(
        conversation.messages.filter(author_kind=AuthorKind.BOT)
        .order_by("created_at", "pk")
        .values_list("body", flat=True)
    )


def start(customer, team, body: str = "where is my parcel") -> Conversation:
    conversation, _ = conversation_start(
        customer=customer, body=body, client_id=unique("c"), team=team
    )
    live()
    conversation.refresh_from_db()
    return conversation


# --- Who the bot answers ---------------------------------------------------------------------


def test_with_the_bot_off_a_new_conversation_is_routed_at_once(support, alice, make_customer):
    alice.agent.presence = Presence.ONLINE
    alice.agent.save()
    conversation = start(make_customer(), support)
    assert not conversation.with_bot
    assert conversation.assignee == alice
    assert bot_messages(conversation) == []


def test_always_first_the_bot_answers_with_articles_and_no_agent_takes_it(
    support, alice, make_customer, shop
):
    alice.agent.presence = Presence.ONLINE
    alice.agent.save()
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    conversation = start(make_customer(), support)
    assert conversation.with_bot
    assert conversation.assignee is None  # not queued for agents while the bot holds it
    (answer,) = bot_messages(conversation)
    assert "Where is my parcel?" in answer
    assert shop[0].get_absolute_url() in answer
    assert answer.endswith("Not what you need? Choose “Talk to a person”.")


def test_when_unavailable_the_bot_answers_only_when_nobody_can_chat(
    support, alice, make_customer, shop
):
    support.bot = BotMode.WHEN_UNAVAILABLE
    support.save()
    assert start(make_customer(), support).with_bot  # Alice is offline
    alice.agent.presence = Presence.ONLINE
    alice.agent.save()
    live_one = start(make_customer(), support)
    assert not live_one.with_bot
    assert live_one.assignee == alice


def test_when_unavailable_the_bot_answers_when_everyone_is_at_capacity(
    support, make_agent, make_customer, shop
):
    make_agent(teams=[support], capacity=1, presence=Presence.ONLINE)
    support.bot = BotMode.WHEN_UNAVAILABLE
    support.save()
    first = start(make_customer(), support)
    assert not first.with_bot and first.assignee is not None
    assert start(make_customer(), support).with_bot


def test_the_bot_speaks_the_customers_language_and_says_when_nothing_matches(
    support, make_customer, shop
):
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    customer = make_customer()
    customer.language = "tr"
    customer.save()
    turkish = start(customer, support, body="kargom nerede")
    (answer,) = bot_messages(turkish)
    assert "Kargom nerede?" in answer and "/help/tr/" in answer
    assert "“Bir kişiyle konuş”" in answer
    nothing = start(make_customer(), support, body="quantum chromodynamics")
    (answer,) = bot_messages(nothing)
    assert answer.startswith("I found no help article about that.")
    assert "Talk to a person" in answer


def test_asked_once_more_then_handed_over_never_looped(support, alice, make_customer, shop):
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    alice.agent.presence = Presence.ONLINE
    alice.agent.save()
    conversation = start(make_customer(), support)
    write(conversation, "that did not help")
    first, second = bot_messages(conversation)
    assert "Where is my parcel?" in first
    assert second.startswith("Would you like to talk to a person?")
    assert "Where is my parcel?" not in second  # no second list of articles
    write(conversation, "yes please")
    conversation.refresh_from_db()
    assert len(bot_messages(conversation)) == 2
    assert not conversation.with_bot
    assert conversation.assignee == alice


# --- The handover ----------------------------------------------------------------------------


def test_handover_queues_and_routes_like_a_new_conversation_within_capacity(
    support, make_agent, make_customer, shop
):
    agent = make_agent(teams=[support], capacity=1, presence=Presence.ONLINE)
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    first, second = start(make_customer(), support), start(make_customer(), support)
    conversation_hand_over(conversation=first)
    live()
    first.refresh_from_db()
    assert first.assignee == agent and not first.with_bot
    assert first.waiting_since is not None  # the customer waits from the handover
    conversation_hand_over(conversation=second)
    live()
    second.refresh_from_db()
    assert second.assignee is None and second.status == "open"  # queued: the agent is full
    handovers = ConversationEvent.objects.filter(conversation=second, change__handed_over=True)
    assert handovers.count() == 1  # live views learn it from the log
    assert bot_messages(second)  # the bot's exchange stays for the agent


def test_handover_without_a_bot_is_refused(support, make_customer):
    conversation = start(make_customer(), support)
    with pytest.raises(NotAllowed) as refused:
        conversation_hand_over(conversation=conversation)
    assert refused.value.code == "no_bot"


def test_a_bot_conversation_left_idle_is_resolved_without_a_human(
    support, make_customer, shop, settings
):
    settings.HELPDESK_BOT_IDLE_MINUTES = 30
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    left, recent = start(make_customer(), support), start(make_customer(), support)
    Conversation.objects.filter(pk=left.pk).update(
        last_activity_at=timezone.now() - timedelta(minutes=31)
    )
    assert resolve_idle_bot_conversations() == 1
    left.refresh_from_db(), recent.refresh_from_db()
    assert (left.status, recent.status) == ("resolved", "open")
    assert left.assignee is None


# --- The API ---------------------------------------------------------------------------------


@pytest.fixture
def bot_team(support):
    support.bot = BotMode.ALWAYS_FIRST
    support.save()
    return support


def widget(customer) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {customer.token}")


def test_handoff_call_answers_the_conversation_from_the_queue(
    bot_team, alice, make_customer, shop, fresh_rate_limits
):
    alice.agent.presence = Presence.ONLINE
    alice.agent.save()
    customer = make_customer()
    conversation = start(customer, bot_team)
    response = widget(customer).post(f"/api/v1/widget/conversations/{conversation.pk}/handoff")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == conversation.pk
    assert response.json()["with_bot"] is False
    live()
    conversation.refresh_from_db()
    assert conversation.assignee == alice


def test_handoff_of_another_customers_conversation_is_404(
    bot_team, make_customer, shop, fresh_rate_limits
):
    conversation = start(make_customer(), bot_team)
    response = widget(make_customer()).post(
        f"/api/v1/widget/conversations/{conversation.pk}/handoff"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    conversation.refresh_from_db()
    assert conversation.with_bot


def test_handoff_without_a_bot_is_409_in_the_error_shape(support, make_customer, fresh_rate_limits):
    customer = make_customer()
    conversation = start(customer, support)
    response = widget(customer).post(f"/api/v1/widget/conversations/{conversation.pk}/handoff")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_bot"


def test_this_answered_my_question_resolves_without_a_person(
    bot_team, alice, make_customer, shop, fresh_rate_limits
):
    customer = make_customer()
    conversation = start(customer, bot_team)
    client = widget(customer)
    response = client.post(f"/api/v1/widget/conversations/{conversation.pk}/answered")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    conversation.refresh_from_db()
    assert conversation.assignee is None
    conversation_hand_over(conversation=conversation)  # changed their mind: a new cycle, queued
    conversation.refresh_from_db()
    assert (conversation.status, conversation.cycle, conversation.with_bot) == ("open", 2, False)
    again = client.post(f"/api/v1/widget/conversations/{conversation.pk}/answered")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "no_bot"


def test_only_admins_set_a_teams_bot_mode(
    support, alice_client, staff, logged_in, fresh_rate_limits
):
    refused = alice_client.patch(
        f"/api/v1/teams/{support.pk}", {"bot": "always_first"}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    admin = logged_in(staff)
    response = admin.patch(f"/api/v1/teams/{support.pk}", {"bot": "always_first"}, format="json")
    assert response.status_code == 200
    assert response.json()["bot"] == "always_first"
    support.refresh_from_db()
    assert support.bot == BotMode.ALWAYS_FIRST
    bad = admin.patch(f"/api/v1/teams/{support.pk}", {"bot": "sometimes"}, format="json")
    assert bad.status_code == 400
    assert "bot" in bad.json()["error"]["fields"]
    assert admin.patch("/api/v1/teams/999999", {"bot": "off"}, format="json").status_code == 404


# --- The reports -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def bot_history(bot_team, alice, make_customer, shop):
    """One conversation the bot resolved alone; one handed over 10 minutes after the
    customer's first message and answered by Alice 2 minutes after the handover."""
    alone, _ = conversation_start(
        customer=make_customer(), body="parcel", client_id="a", team=bot_team, at=at(0)
    )
    handed, _ = conversation_start(
        customer=make_customer(), body="parcel", client_id="h", team=bot_team, at=at(0)
    )
    live()
    conversation_resolve(conversation=alone, at=at(5))
    conversation_hand_over(conversation=handed, at=at(10))
    conversation_assign(conversation=handed, assignee=alice, at=at(10))
    message_post(
        conversation=handed,
        author=Author.of_agent(alice),
        body="Let me look.",
        client_id="r",
        at=at(12),
    )
    conversation_resolve(conversation=handed, by=alice, at=at(20))
    live()
    while process_new_events():
        pass
    return alone, handed


def test_bot_resolved_and_handed_over_in_the_summary(bot_history):
    report = summary(at(-60), at(120), Slice())
    assert report["conversations"]["bot_resolved"] == 1
    assert report["conversations"]["handed_over"] == 1
    assert report["conversations"]["resolved"] == 2


def test_first_response_and_wait_of_a_handed_over_conversation_count_from_the_handover(
    bot_history,
):
    report = summary(at(-60), at(120), Slice())
    assert report["first_response_time"]["count"] == 1
    assert report["first_response_time"]["mean"] == 120  # 12 − 10 minutes, not 12 − 0
    assert report["wait_time"]["mean"] == 120
    assert report["resolution_time"]["count"] == 2  # resolution still counts from the start


def test_rebuild_reports_gives_the_same_bot_figures(bot_history):
    before = snapshot()
    report = summary(at(-60), at(120), Slice())
    call_command("rebuild_reports", stdout=open("/dev/null", "w"))
    assert snapshot() == before
    after = summary(at(-60), at(120), Slice())
    for figures in (report, after):
        figures.pop("computed_at")
    assert after == report
    assert after["conversations"]["handed_over"] == 1


def test_self_service_counts_article_views_and_helpful_votes_of_the_period(shop, make_customer):
    from helpcenter.models import ArticleFeedback, ArticleViews

    parcel, kargo = shop
    ArticleViews.objects.create(article=parcel, day=T0.date(), views=5)
    ArticleViews.objects.create(article=kargo, day=T0.date(), views=2)
    ArticleViews.objects.create(article=parcel, day=(T0 + timedelta(days=3)).date(), views=9)
    for helpful, when in ((True, at(10)), (False, at(20)), (True, at(60 * 24 * 3))):
        ArticleFeedback.objects.create(
            article=parcel, helpful=helpful, source="widget", created_at=when
        )
    figures = summary(T0, T0 + timedelta(days=1), Slice())["self_service"]
    assert figures == {"article_views": 7, "helpful": 1, "deflected": 0}


def test_a_customer_back_after_the_bot_resolved_gets_articles_again(bot_team, make_customer, shop):
    conversation = start(make_customer(), bot_team)
    resolve_idle_bot_conversations(now=timezone.now() + timedelta(days=1))
    write(conversation, "where is my parcel now?")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.cycle, conversation.with_bot) == ("open", 2, True)
    first, second = bot_messages(conversation)
    assert "Where is my parcel?" in first and "Where is my parcel?" in second
