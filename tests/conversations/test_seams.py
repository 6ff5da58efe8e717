"""The core's questions to higher apps: answered at start-up, and loud when nobody answers."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import transaction

from agents.routing import check_assign as agents_check_assign
from agents.services import agent_provision
from conversations import seams
from conversations.services import check_assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def unanswered(monkeypatch):
    """As if no app had registered anything."""
    monkeypatch.setattr(seams.ASSIGNMENT_POLICY, "answer", None)
    monkeypatch.setattr(seams.AGENT_PROVISIONER, "answer", None)


def test_the_agents_app_answers_the_cores_questions_at_start_up():
    assert seams.assignment_policy() is agents_check_assign
    assert seams.agent_provisioner() is agent_provision
    assert seams.check_seams_answered() == []


def test_assigning_with_no_registered_policy_fails_loudly(
    unanswered, make_agent, start_conversation
):
    agent, conversation = make_agent(), start_conversation()

    with pytest.raises(ImproperlyConfigured, match="may this agent take this conversation"):
        with transaction.atomic():
            check_assign(conversation=conversation, assignee=agent, by=None)


def test_importing_with_no_agent_provisioner_fails_loudly(unanswered):
    from conversations.history.replay import _Directory

    with pytest.raises(ImproperlyConfigured, match="make this email an agent"):
        _Directory().agent("ayse@example.com", None)


def test_the_system_check_names_every_unanswered_question(unanswered):
    errors = seams.check_seams_answered()

    assert [error.id for error in errors] == ["conversations.E001", "conversations.E002"]
    with pytest.raises(SystemCheckError, match="conversations.E001"):
        call_command("check")
