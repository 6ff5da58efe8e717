"""Agents (capacity, presence), the teams' business hours, and canned responses.

Teams and who belongs to them live in the core (conversations.models.Team): agents only
add what an agent does.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Team
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
