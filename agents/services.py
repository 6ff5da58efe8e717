"""State changes of agents: presence, agent accounts, and the out-of-hours auto-reply."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from conversations.errors import InvalidInput
from conversations.models import AuthorKind, Conversation, Message, Team
from conversations.services import Author, message_post

from .models import Agent, Presence
from .selectors import next_opening, team_open_at, team_zone, teams_with_hours


def agent_for(user: Any) -> Agent:
    """The user's agent profile, created on first use (staff users are agents)."""
    agent, _ = Agent.objects.get_or_create(user=user)
    return agent


@transaction.atomic
def agent_set_presence(*, agent: Agent, presence: str) -> Agent:
    """Change presence and tell the agent's teams (a `presence` event, no cursor)."""
    if presence not in Presence.values:
        raise InvalidInput(
            _("Unknown presence."), fields={"presence": _("Choose online, away or offline.")}
        )
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.presence == presence:
        return agent
    agent.presence = presence
    agent.presence_changed_at = timezone.now()
    agent.save(update_fields=["presence", "presence_changed_at"])
    team_ids = list(agent.teams.values_list("pk", flat=True))
    # Robust: the change is committed; a Redis outage only delays what screens show.
    transaction.on_commit(lambda: _broadcast_presence(agent, team_ids), robust=True)
    return agent


def _broadcast_presence(agent: Agent, team_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {
        "type": "presence",
        "agent": agent.pk,
        "presence": agent.presence,
        "at": agent.presence_changed_at.isoformat(),
    }
    groups = [f"team.{team_id}" for team_id in team_ids] + ["admins"]
    send = async_to_sync(layer.group_send)
    for group in groups:
        send(group, {"type": "event.publish", "event": payload})


# --- Agent accounts (the create_agent command) ---------------------------------------------


def check_agent_email(email: Any) -> str:
    """An agent's email is their login (the username); stored lower-case."""
    email = str(email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        message = _("“%(email)s” is not a valid email address.") % {"email": email}
        raise InvalidInput(message, fields={"email": message}) from error
    return email


def team_named(name: str) -> Team:
    """The team with this name (any letter case), created when missing."""
    name = name.strip()
    max_length = Team._meta.get_field("name").max_length
    if not name or len(name) > max_length:
        message = _("A team name needs 1 to %(max)d characters.") % {"max": max_length}
        raise InvalidInput(message, fields={"team": message})
    team = Team.objects.filter(name__iexact=name).first()
    return team or Team.objects.create(name=name)


@transaction.atomic
def agent_save(
    *,
    email: str,
    name: str | None = None,
    team_names: list[str] | None = None,
    capacity: int | None = None,
    admin: bool = False,
    password: str | None = None,
) -> tuple[Agent, bool]:
    """Create or update the agent with this email. Returns (agent, created).

    The user is staff (`admin` makes it a superuser; leaving it out never demotes). Values left
    out keep what the agent had; `team_names`, when given, replaces the agent's teams.
    """
    email = check_agent_email(email)
    User = get_user_model()
    user = User.objects.select_for_update().filter(username__iexact=email).first()
    created = user is None
    if created:
        user = User(username=email, email=email)
        user.set_unusable_password()
    user.email = email
    user.is_staff = True
    user.is_active = True
    user.is_superuser = user.is_superuser or admin
    if name is not None:
        user.first_name, _space, user.last_name = name.strip().partition(" ")
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            message = " ".join(error.messages)
            raise InvalidInput(message, fields={"password": error.messages}) from error
        user.set_password(password)
    user.save()
    agent, _created = Agent.objects.get_or_create(user=user)
    if capacity is not None:
        if not 0 <= capacity <= 1000:
            message = _("Capacity is a number of conversations from 0 to 1000.")
            raise InvalidInput(message, fields={"capacity": message})
        agent.capacity = capacity
        agent.save(update_fields=["capacity"])
    if team_names is not None:
        agent.teams.set([team_named(team_name) for team_name in team_names])
    return agent, created


@transaction.atomic
def agent_provision(
    *,
    email: str,
    name: str | None = None,
    teams: Sequence[Team] = (),
    capacity: int | None = None,
) -> Any:
    """The core's agent provisioner (conversations.seams.AgentProvisioner, registered in
    AgentsConfig.ready): imports and demo data name agents by email. A new agent is made by
    agent_save; an existing user keeps everything and gets a profile if they lack one."""
    user = get_user_model().objects.filter(username=email.strip().lower()).first()
    if user is not None:
        Agent.objects.get_or_create(user=user)
        return user
    agent, _created = agent_save(email=email, name=name, capacity=capacity)
    agent.teams.set(teams)
    return agent.user


def agent_api_token(agent: Agent) -> str:
    """The agent's API token key (`Authorization: Token <key>`), created on first use."""
    token, _created = Token.objects.get_or_create(user=agent.user)
    return token.key


# --- Out of business hours: the automatic reply ----------------------------------------------

AUTO_REPLY_PREFIX = "auto-reply-"


def auto_reply_client_id(message: Message) -> str:
    """One auto-reply per triggering customer message, whoever (or how often) reacts to it."""
    return f"{AUTO_REPLY_PREFIX}{message.pk}"


def auto_reply_when_closed(*, message: Message) -> Message | None:
    """Tell a customer who writes while the conversation's team is closed when it is back.

    A `system` message (never a reply in the metrics, never emailed, leaves waiting_since
    alone), in the customer's language and the team's time zone, stamped at the moment of
    the message it answers. At most one per closed spell: nothing if an auto-reply or a
    public agent reply came while the team has stayed closed. Returns the reply, or None.
    """
    if message.author_kind != AuthorKind.CUSTOMER:
        return None
    if message.conversation.team_id not in teams_with_hours():
        return None  # the usual case: a team that never closes, decided without a query
    team, at = (
        Team.objects.filter(conversations=message.conversation_id).first(),
        message.created_at,
    )
    if team is None or team_open_at(team, at):
        return None  # the usual case, decided without any lock
    with transaction.atomic():
        # The conversation's lock serializes the reactions to a burst of customer messages.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=message.conversation_id)
        )
        reopens = next_opening(team, at)
        if reopens is None or _answered_in_this_spell(conversation, team, at):
            return None
        reply, _created = message_post(
            conversation=conversation,
            author=Author.system(),
            body=auto_reply_text(team, reopens, at=at, customer=conversation.customer),
            client_id=auto_reply_client_id(message),
            at=at,
        )
    return reply


def _answered_in_this_spell(conversation: Conversation, team: Team, at: datetime) -> bool:
    """Whether the latest auto-reply or public agent reply came while the team has been
    closed ever since, up to `at` (so the customer already heard from us in this spell)."""
    answers = Q(author_kind=AuthorKind.AGENT) | Q(
        author_kind=AuthorKind.SYSTEM, client_id__startswith=AUTO_REPLY_PREFIX
    )
    latest = (
        conversation.messages.filter(answers, private=False)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if latest is None:
        return False
    reopened = next_opening(team, latest)
    return reopened is not None and reopened > at


def auto_reply_text(team: Team, reopens: datetime, *, at: datetime, customer: Any) -> str:
    """The text, e.g. "…back on Monday at 09:00 (Europe/Istanbul)…", in the customer's language."""
    zone = team_zone(team)
    local = reopens.astimezone(zone)
    with translation.override(customer.language or settings.LANGUAGE_CODE):
        values = {"time": formats.time_format(local, "H:i"), "zone": team.time_zone}
        if local.date() == at.astimezone(zone).date():
            away = (
                _(
                    "Thanks for your message. Our team is away right now and will be back today "
                    "at %(time)s (%(zone)s)."
                )
                % values
            )
        else:
            values["day"] = formats.date_format(local, "l")
            away = (
                _(
                    "Thanks for your message. Our team is away right now and will be back on "
                    "%(day)s at %(time)s (%(zone)s)."
                )
                % values
            )
        where = (
            _("We will reply here and by email.") if customer.email else _("We will reply here.")
        )
    return f"{away} {where}"
