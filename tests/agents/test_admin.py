"""Teams, agent profiles and canned responses in the admin."""

import pytest
from django.urls import reverse

from agents.models import Agent, CannedResponse, Presence
from conversations.models import Team
from conversations.services import conversation_assign, conversation_resolve

pytestmark = pytest.mark.django_db


def test_teams_list_agents_and_open_conversations(
    staff_client, make_team, make_agent, start_conversation
):
    billing = make_team("Billing", is_default=True)
    make_agent(teams=[billing])
    make_agent(teams=[billing])
    open_one = start_conversation(team=billing)
    resolved = start_conversation(team=billing)
    conversation_resolve(conversation=resolved)

    response = staff_client.get(reverse("admin:conversations_team_changelist"))

    assert response.status_code == 200
    team = response.context["cl"].result_list[0]
    assert (team.name, team.agent_total, team.open_total) == ("Billing", 2, 1)
    assert open_one.team == billing


def test_a_second_default_team_is_refused_with_a_form_error(staff_client, make_team):
    make_team("Support", is_default=True)

    response = staff_client.post(
        reverse("admin:conversations_team_add"), {"name": "Sales", "is_default": "on"}
    )

    assert response.status_code == 200
    assert response.context["errors"]
    assert not Team.objects.filter(name="Sales").exists()


def test_agents_list_shows_capacity_use_and_presence(
    staff_client, make_agent, make_team, start_conversation
):
    team = make_team("Returns")
    omar = make_agent(first_name="Omar", teams=[team], capacity=4, presence=Presence.ONLINE)
    for _ in range(2):
        conversation_assign(conversation=start_conversation(), assignee=omar)

    response = staff_client.get(reverse("admin:agents_agent_changelist"), {"q": "omar"})

    html = response.content.decode()
    assert [agent.pk for agent in response.context["cl"].result_list] == [omar.pk]
    assert "2 / 4" in html and "Returns" in html and "Online" in html


def test_agent_presence_is_read_only(staff_client, make_agent, make_team):
    team = make_team("Returns")
    omar = make_agent(first_name="Omar", presence=Presence.AWAY)
    url = reverse("admin:agents_agent_change", args=[omar.pk])

    assert 'name="presence"' not in staff_client.get(url).content.decode()
    response = staff_client.post(url, {"teams": [team.pk], "capacity": 5, "presence": "online"})

    assert response.status_code == 302
    agent = Agent.objects.get(pk=omar.pk)
    assert agent.capacity == 5 and list(agent.teams.all()) == [team]
    assert agent.presence == Presence.AWAY


def test_user_admin_edits_the_agent_profile_inline(staff_client, make_agent, make_team):
    team = make_team("Billing")
    omar = make_agent("omar@example.com", first_name="Omar")
    url = reverse("admin:auth_user_change", args=[omar.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "agent profile" in page.content.decode().lower()

    form = page.context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if key in form.fields and value is not None and key not in {"groups", "user_permissions"}
    }
    data.update(
        {
            "date_joined_0": omar.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": omar.date_joined.strftime("%H:%M:%S"),
            "is_active": "on",
            "is_staff": "on",
            "agent-TOTAL_FORMS": "1",
            "agent-INITIAL_FORMS": "1",
            "agent-MIN_NUM_FORMS": "0",
            "agent-MAX_NUM_FORMS": "1",
            "agent-0-user": omar.pk,
            "agent-0-teams": [team.pk],
            "agent-0-capacity": "7",
        }
    )
    data.pop("last_login", None)
    data.pop("date_joined", None)

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    agent = Agent.objects.get(pk=omar.pk)
    assert agent.capacity == 7 and list(agent.teams.all()) == [team]


def test_canned_responses_can_be_created_and_searched(staff_client, make_team):
    team = make_team("Billing")

    created = staff_client.post(
        reverse("admin:agents_cannedresponse_add"),
        {
            "shortcut": "refund",
            "team": team.pk,
            "body": "Hi {{customer.name}}, your refund is on its way.",
        },
    )
    assert created.status_code == 302
    assert CannedResponse.objects.get(shortcut="refund").team == team

    found = staff_client.get(reverse("admin:agents_cannedresponse_changelist"), {"q": "on its way"})
    assert [response.shortcut for response in found.context["cl"].result_list] == ["refund"]


def test_admins_set_the_name_customers_see(staff_client, make_agent, make_team):
    """Issue 15, agent profile: admins set an agent's display name on the agent's page."""
    from conversations.people import public_name

    team = make_team()
    agent = make_agent("nameless@example.com", teams=[team])
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="display_name"' in page

    refused = staff_client.post(
        url, {"display_name": "nameless@example.com", "teams": [team.pk], "capacity": 3}
    )
    assert refused.status_code == 200 and "not an email address" in refused.content.decode()
    saved = staff_client.post(
        url, {"display_name": "Sam from Support", "teams": [team.pk], "capacity": 3}
    )
    assert saved.status_code == 302
    agent.refresh_from_db()
    assert public_name(agent) == "Sam from Support"
    listed = staff_client.get(reverse("admin:agents_agent_changelist")).content.decode()
    assert "Sam from Support" in listed
