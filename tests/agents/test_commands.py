"""`manage.py create_agent` and `manage.py seed_demo`."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from agents.canned import render_canned
from agents.models import Agent, CannedResponse, Macro
from conversations.models import (
    Conversation,
    ConversationEvent,
    Customer,
    Message,
    Rating,
    Team,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


def create_agent(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("create_agent", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_agent_prints_the_token_alone_on_the_last_line():
    output = create_agent(
        "Ayse@Example.com",
        "--name",
        "Ayşe Yılmaz",
        "--team",
        "Support",
        "--team",
        "Billing",
        "--capacity",
        "5",
        "--password",
        "a-long-enough-password",
    )
    user = User.objects.get(username="ayse@example.com")
    assert output[-1] == Token.objects.get(user=user).key
    assert "Created agent ayse@example.com (teams: Billing, Support; capacity 5)." in output[0]
    assert user.is_staff and not user.is_superuser
    assert user.get_full_name() == "Ayşe Yılmaz"
    agent = Agent.objects.get(user=user)
    assert agent.capacity == 5
    assert sorted(agent.teams.values_list("name", flat=True)) == ["Billing", "Support"]
    assert authenticate(username="ayse@example.com", password="a-long-enough-password") == user


def test_create_agent_updates_an_existing_agent_and_keeps_its_token():
    first = create_agent("mehmet@example.com", "--team", "Support", "--admin")
    Team.objects.create(name="Sales")
    again = create_agent(
        "mehmet@example.com", "--name", "Mehmet Demir", "--team", "sales", "--capacity", "2"
    )
    assert again[-1] == first[-1]  # the same token
    assert again[0].startswith("Updated agent mehmet@example.com")
    user = User.objects.get(username="mehmet@example.com")
    assert User.objects.filter(email="mehmet@example.com").count() == 1
    assert user.is_superuser  # leaving out --admin does not demote
    assert user.first_name == "Mehmet" and user.last_name == "Demir"
    assert not user.has_usable_password()
    agent = Agent.objects.get(user=user)
    assert agent.capacity == 2
    assert list(agent.teams.values_list("name", flat=True)) == ["Sales"]  # matched, not doubled
    assert Team.objects.filter(name__iexact="sales").count() == 1


def test_create_agent_refuses_a_bad_email_with_a_sentence():
    with pytest.raises(CommandError, match="“not-an-email” is not a valid email address."):
        create_agent("not-an-email")
    assert not User.objects.exists()


def test_create_agent_refuses_a_too_short_password():
    with pytest.raises(CommandError, match="too short"):
        create_agent("ayse@example.com", "--password", "short")
    assert not User.objects.exists()


def test_the_printed_token_authenticates_api_calls(client):
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.test import APIRequestFactory

    token = create_agent("alice@example.com")[-1]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token}")
    user, _auth = TokenAuthentication().authenticate(request)
    assert user.email == "alice@example.com"


def seed(conversations: int = 40) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--conversations", str(conversations), "--no-progress", stdout=out)
    return out.getvalue()


def table_counts() -> list[int]:
    models = (
        Conversation,
        Customer,
        Message,
        ConversationEvent,
        Rating,
        User,
        Team,
        Agent,
        CannedResponse,
        Macro,
    )
    return [model.objects.count() for model in models]


def test_seed_demo_creates_varied_history_and_running_it_again_adds_nothing():
    output = seed(60)
    assert "60 conversations created" in output
    assert Team.objects.get(is_default=True).name == "Support"
    assert {"Support", "Billing", "Sales"} <= set(Team.objects.values_list("name", flat=True))
    ayse = Agent.objects.get(user__email="ayse@example.com")
    assert ayse.user.get_full_name() == "Ayşe Yılmaz"
    assert Conversation.objects.count() == 60
    statuses = set(Conversation.objects.values_list("status", flat=True))
    assert {"open", "resolved"} <= statuses
    assert Conversation.objects.filter(cycle__gt=1).exists()  # reopened
    assert Message.objects.filter(private=True).exists()  # notes
    assert Message.objects.filter(author_kind="agent", private=False).exists()
    assert Message.objects.filter(body__contains="ş").exists()  # Turkish
    assert Message.objects.filter(body__contains="the").exists()  # English
    assert Rating.objects.exists()
    assert ConversationEvent.objects.filter(change__status__1="pending").exists()
    assert Customer.objects.count() < 60  # some customers came back
    before = table_counts()

    again = seed(60)
    assert "0 conversations created, 60 already there" in again
    assert table_counts() == before


def test_seed_demo_ships_canned_responses_in_english_and_turkish_that_render(
    make_customer, start_conversation
):
    """Issue 15, defect 2: the demo had no canned responses, so "/" found nothing."""
    seed(0)
    shortcuts = set(CannedResponse.objects.values_list("shortcut", flat=True))
    assert {"hello", "refund", "merhaba", "iade"} <= shortcuts and len(shortcuts) >= 10
    conversation = start_conversation(customer=make_customer(name="Elif Şahin"))
    ayse = User.objects.get(email="ayse@example.com")
    hello = CannedResponse.objects.get(shortcut="merhaba")
    rendered = render_canned(hello.body, conversation=conversation, agent_user=ayse)
    assert rendered.startswith("Merhaba Elif, bize yazdığınız için teşekkürler! Ben Ayşe")
    assert "{{" not in "".join(
        render_canned(body, conversation=conversation, agent_user=ayse)
        for body in CannedResponse.objects.values_list("body", flat=True)
    )
    CannedResponse.objects.filter(shortcut="hello").update(body="Our own greeting")
    seed(0)
    assert CannedResponse.objects.get(shortcut="hello").body == "Our own greeting"  # kept


def test_seed_demo_ships_macros_in_english_and_turkish_that_apply(
    make_customer, start_conversation
):
    from agents.macros import macro_apply

    seed(0)
    names = set(Macro.objects.values_list("name", flat=True))
    assert {"Escalate to billing — high priority", "Muhasebeye aktar — yüksek öncelik"} <= names
    conversation = start_conversation(customer=make_customer(name="Elif Şahin"))
    ayse = User.objects.get(email="ayse@example.com")
    changed, reply = macro_apply(
        macro=Macro.objects.get(name="Sipariş numarası iste — beklemede"),
        conversation=conversation,
        by=ayse,
    )
    assert reply.body.startswith("Sipariş numaranızı paylaşır mısınız Elif?")
    assert changed.status == "pending"
    assert list(changed.labels.values_list("name", flat=True)) == ["siparis"]
    escalate = Macro.objects.get(name="Muhasebeye aktar — yüksek öncelik")
    assert escalate.move_to_team == Team.objects.get(name="Billing")


def test_the_admin_that_serve_creates_answers_in_the_demo_teams(settings):
    """Defect 5 of issue 15: the admin that `serve` creates was in no team, so the widget
    said "No agent is available" while they answered from the workspace."""
    from agents.selectors import availability
    from conversations.people import public_name
    from conversations.services import public_profile_save
    from helpdesk.management.commands.serve import ADMIN_EMAIL, prepare_admin

    seed(3)
    prepare_admin(password="a-long-demo-password")
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_superuser
    assert set(admin.teams.values_list("name", flat=True)) == {"Support", "Billing", "Sales"}
    assert public_name(admin) == "Ada Korkmaz"  # issue 15, defect 3: not admin@example.com

    Agent.objects.filter(user__is_superuser=False).update(presence="offline")
    Agent.objects.filter(pk=admin.pk).update(presence="online", capacity=50)
    support = Team.objects.get(name="Support")
    assert availability(support).agents_online == 1
    assert availability(support).can_chat_live is True

    # Every start sets a password; teams and a name the admin was given since are kept.
    admin.teams.set([support])
    public_profile_save(user=admin, display_name="Sam")
    prepare_admin(password="another-long-password")
    assert list(admin.teams.values_list("name", flat=True)) == ["Support"]
    assert public_name(User.objects.get(pk=admin.pk)) == "Sam"
