"""Campaigns: a proactive invitation the widget shows to the visitors its rules pick, and
a record of each one shown (reports count them; docs/campaigns.md)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Team

MAX_MESSAGE_LENGTH = 1000
MAX_DELAY_SECONDS = 3600


class UrlRule(models.TextChoices):
    CONTAINS = "contains", _("URL contains")
    STARTS_WITH = "starts_with", _("URL starts with")
    REGEX = "regex", _("URL matches the regular expression")


def check_regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern, or a ValidationError saying why it does not compile."""
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        raise ValidationError(
            _("This regular expression does not compile: %(error)s"),
            code="invalid_regex",
            params={"error": str(error)},
        ) from error


class Campaign(models.Model):
    message = models.TextField(
        _("message"),
        max_length=MAX_MESSAGE_LENGTH,
        help_text=_("The invitation the visitor reads; it opens the conversation they answer."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="campaigns",
        verbose_name=_("team"),
        help_text=_("Answers go to this team; nobody in it can take a chat: nothing is shown."),
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender"),
        help_text=_("The agent the invitation comes from; empty: the team."),
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        help_text=_("The visitor languages it is shown in (en, tr); empty: every language."),
    )
    url_kind = models.CharField(
        _("URL rule"), max_length=12, choices=UrlRule.choices, default=UrlRule.CONTAINS
    )
    url_value = models.CharField(
        _("URL rule value"),
        max_length=500,
        blank=True,
        help_text=_("Text the page address contains or starts with, or a regular expression."),
    )
    delay_seconds = models.PositiveIntegerField(
        _("seconds on the page"),
        default=10,
        validators=[MaxValueValidator(MAX_DELAY_SECONDS)],
        help_text=_("How long the visitor is on the page before the invitation shows."),
    )
    returning = models.BooleanField(
        _("returning visitors"),
        null=True,
        blank=True,
        help_text=_("Yes: returning visitors only; no: new visitors only; empty: everyone."),
    )
    active_from = models.TimeField(
        _("active from"), null=True, blank=True, help_text=_("In the team's time zone.")
    )
    active_until = models.TimeField(
        _("active until"),
        null=True,
        blank=True,
        help_text=_("In the team's time zone; both empty: all day."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(url_kind__in=UrlRule.values), name="campaign_url_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(active_from__isnull=True, active_until__isnull=True)
                | models.Q(active_from__isnull=False, active_until__isnull=False),
                name="campaign_active_hours_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.message[:60]

    def clean(self) -> None:
        """The admin form's checks; services.check_campaign runs the same ones for the API."""
        from .services import campaign_errors

        errors = campaign_errors(self)
        if errors:
            raise ValidationError(errors)


class CampaignShown(models.Model):
    """A campaign's invitation shown to a visitor: at most one row per visitor, campaign and
    day (UTC), so a visitor who reloads or calls in a loop counts once a day.

    `visitor` is "customer:<id>" for a visitor with a widget session, else "ip:" and a keyed
    hash of their address (the widget follows nobody who never chatted; services.visitor_key).
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="shown", verbose_name=_("campaign")
    )
    visitor = models.CharField(_("visitor"), max_length=64)
    day = models.DateField(_("day"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("invitation shown")
        verbose_name_plural = _("invitations shown")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "visitor", "day"], name="campaign_shown_once_a_day"
            )
        ]
        indexes = [models.Index(fields=["at"], name="campaign_shown_at")]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.visitor}"
