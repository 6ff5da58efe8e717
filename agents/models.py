"""Agents (capacity, presence), the teams' business hours, and canned responses.

Teams and who belongs to them live in the core (conversations.models.Team): agents only
add what an agent does.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Priority, Status, Team
from conversations.people import user_name


def default_capacity() -> int:
    return settings.HELPDESK_DEFAULT_CAPACITY


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessHours(models.Model):
    """One opening interval of a team, in the team's time zone (agents/hours.py reads them).

    Several per day are allowed. `closes` at or before `opens` runs past midnight into the
    next day (22:00–06:00; 00:00 closes at midnight). A team without any is always open.
    """

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="business_hours", verbose_name=_("team")
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(
        _("closes"), help_text=_("At or before the opening time: the next day.")
    )

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        ordering = ["team", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="business_hours_weekday"),
            models.CheckConstraint(
                condition=~Q(opens=F("closes")), name="business_hours_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.opens is not None and self.opens == self.closes:
            raise ValidationError(
                {"closes": _("Closing time must differ from opening time.")}, code="empty"
            )


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class Agent(models.Model):
    """An agent's profile; its primary key is the user's, so an agent id is a user id."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="agent",
        verbose_name=_("user"),
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=default_capacity,
        help_text=_("How many open conversations may be assigned at once."),
    )
    presence = models.CharField(
        _("presence"), max_length=10, choices=Presence.choices, default=Presence.OFFLINE
    )
    presence_changed_at = models.DateTimeField(_("presence changed at"), default=timezone.now)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        constraints = [
            models.CheckConstraint(condition=Q(capacity__lte=1000), name="agent_capacity_sane")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def teams(self) -> models.Manager[Team]:
        """The teams of the agent's user: membership is the core's (TeamMembership)."""
        return self.user.teams

    @property
    def display_name(self) -> str:
        """As colleagues see the agent (conversations.people decides)."""
        return user_name(self.user)


class AlertSettings(models.Model):
    """What the workspace alerts an agent about, and how (docs/workspace.md "Alerts").

    An agent without a row has the defaults (agents/alerts.py): sound on, desktop
    notifications off until they enable them, every kind of event, mention emails on.
    """

    agent = models.OneToOneField(
        Agent,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="alert_settings",
        verbose_name=_("agent"),
    )
    sound = models.BooleanField(_("sound"), default=True)
    desktop = models.BooleanField(
        _("desktop notifications"),
        default=False,
        help_text=_("Shown while the workspace is in the background, once the browser allows."),
    )
    new_conversations = models.BooleanField(_("new conversations in my teams"), default=True)
    replies = models.BooleanField(_("customer replies in my conversations"), default=True)
    mentions = models.BooleanField(_("mentions of me"), default=True)
    mention_emails = models.BooleanField(_("email mentions while I am offline"), default=True)

    class Meta:
        verbose_name = _("alert settings")
        verbose_name_plural = _("alert settings")

    def __str__(self) -> str:
        return str(self.agent)


class CannedResponse(models.Model):
    shortcut = models.SlugField(_("shortcut"), max_length=50, unique=True)
    body = models.TextField(
        _("body"),
        help_text=_("Placeholders such as {{customer.name}} are filled when it is used."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        verbose_name=_("team"),
        help_text=_("Empty: shared by every team."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["shortcut"]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class AgentConnection(models.Model):
    """One open agent websocket. An agent is online while they have one (agents/presence.py).

    Rows of sockets that stopped sending heartbeats (a crashed browser or server process) are
    removed by the `expire-stale-agent-connections` beat task.
    """

    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="connections", verbose_name=_("agent")
    )
    channel_name = models.CharField(_("channel name"), max_length=200, unique=True)
    connected_at = models.DateTimeField(_("connected at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("agent connection")
        verbose_name_plural = _("agent connections")

    def __str__(self) -> str:
        return self.channel_name


MAX_SNOOZE_MINUTES = 366 * 24 * 60  # a year: anything longer is a typing mistake
LABEL_NAME = re.compile(r"[-\w]{1,50}")  # conversations.Label.name: a Unicode slug


def valid_label_names(names: object) -> bool:
    """A list of label names as conversations' labels take them (unknown ones are created)."""
    return isinstance(names, list) and all(
        isinstance(name, str) and LABEL_NAME.fullmatch(name) for name in names
    )


class MacroAssign(models.TextChoices):
    """Who a macro gives the conversation to."""

    ME = "me", _("The agent applying it")
    NOBODY = "nobody", _("Nobody (back to the team's queue)")
    AGENT = "agent", _("A given agent")


class Macro(models.Model):
    """A canned reply and actions applied in one step (agents/macros.py applies it).

    Who may use it: its owner (personal), the members of its team (shared with a team), or
    every agent (neither: a global macro, made by admins). Every action is optional; an empty
    one leaves that part of the conversation as it is.
    """

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        verbose_name=_("owner"),
        help_text=_("Set: a personal macro, only its owner uses it."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        verbose_name=_("shared with team"),
        help_text=_("Set: the team's members use it. Neither owner nor team: every agent."),
    )
    body = models.TextField(
        _("reply"),
        blank=True,
        help_text=_(
            "Optional. Placeholders such as {{customer.name}} are filled as in canned responses."
        ),
    )
    private = models.BooleanField(
        _("reply as a private note"), default=False, help_text=_("Only agents see the reply.")
    )
    status = models.CharField(
        _("set status"), max_length=10, choices=Status.choices, blank=True, default=""
    )
    snooze_minutes = models.PositiveIntegerField(
        _("snooze for (minutes)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_SNOOZE_MINUTES)],
        help_text=_("With the status “snoozed”: how long, from when the macro is applied."),
    )
    add_labels = models.JSONField(_("add labels"), default=list, blank=True)
    remove_labels = models.JSONField(_("remove labels"), default=list, blank=True)
    move_to_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("move to team"),
    )
    priority = models.CharField(
        _("set priority"), max_length=10, choices=Priority.choices, blank=True, default=""
    )
    assign = models.CharField(
        _("assign to"), max_length=10, choices=MacroAssign.choices, blank=True, default=""
    )
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True, "is_active": True},
        verbose_name=_("agent"),
        help_text=_("With “assign to: a given agent”."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(team__isnull=True),
                name="macro_personal_or_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.owner_id and self.team_id:
            errors["team"] = _("A personal macro is not shared with a team: choose one.")
        if self.status == Status.SNOOZED and not self.snooze_minutes:
            errors["snooze_minutes"] = _("Say for how long to snooze.")
        if self.status != Status.SNOOZED and self.snooze_minutes:
            errors["snooze_minutes"] = _("Only a snooze lasts: set the status “snoozed”.")
        if self.assign == MacroAssign.AGENT and not self.assign_to_id:
            errors["assign_to"] = _("Choose the agent.")
        if self.assign != MacroAssign.AGENT and self.assign_to_id:
            errors["assign_to"] = _("Set “assign to” to “a given agent”, or leave this empty.")
        for field in ("add_labels", "remove_labels"):
            if not valid_label_names(getattr(self, field)):
                errors[field] = _(
                    "Label names: letters, digits, - and _, at most 50 characters each."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def scope(self) -> str:
        """personal, team or global: who may use it."""
        return "personal" if self.owner_id else "team" if self.team_id else "global"
