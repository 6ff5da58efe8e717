"""Campaign changes: checks (the admin form and the API run the same ones), saving, the
invitations shown, and the invitation a customer answers (the core's seam)."""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput
from conversations.models import Customer, TeamMembership
from conversations.seams import Invitation

from .models import (
    MAX_DELAY_SECONDS,
    MAX_MESSAGE_LENGTH,
    Campaign,
    CampaignShown,
    UrlRule,
    check_regex,
)


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def campaign_errors(campaign: Campaign) -> dict[str, str]:
    """What is wrong with the campaign, by field ({} when nothing is)."""
    errors: dict[str, str] = {}
    if not (campaign.message or "").strip():
        errors["message"] = _("Write the invitation.")
    elif len(campaign.message) > MAX_MESSAGE_LENGTH:
        errors["message"] = _("At most %(n)d characters.") % {"n": MAX_MESSAGE_LENGTH}
    if campaign.url_kind not in UrlRule.values:
        errors["url_rule"] = _("Choose contains, starts_with or regex.")
    elif campaign.url_kind == UrlRule.REGEX:
        try:
            check_regex(campaign.url_value)
        except ValidationError as error:
            errors["url_value"] = error.messages[0]
    if not isinstance(campaign.delay_seconds, int) or not (
        0 <= campaign.delay_seconds <= MAX_DELAY_SECONDS
    ):
        errors["delay_seconds"] = _("From 0 to %(n)d seconds.") % {"n": MAX_DELAY_SECONDS}
    languages = campaign.languages
    if not isinstance(languages, list) or not set(languages) <= set(language_codes()):
        errors["languages"] = _("A list of language codes: %(codes)s.") % {
            "codes": ", ".join(language_codes())
        }
    if (campaign.active_from is None) != (campaign.active_until is None):
        errors["active_until"] = _("Give both ends of the active hours, or neither.")
    sender_id = campaign.sender_id
    if sender_id is not None and campaign.team_id is not None:
        member = TeamMembership.objects.filter(team_id=campaign.team_id, user_id=sender_id)
        if not member.exists():
            errors["sender"] = _("The sender must be a member of the campaign's team.")
    return errors


def check_campaign(campaign: Campaign) -> None:
    """The API's check: InvalidInput naming the fields (`url_value` reads as `url_rule`)."""
    errors = campaign_errors(campaign)
    if "url_value" in errors:
        errors["url_rule"] = errors.pop("url_value")
    if errors:
        raise InvalidInput(next(iter(errors.values())), fields=errors)


@transaction.atomic
def campaign_save(*, campaign: Campaign, **fields: Any) -> Campaign:
    """Create or change a campaign with the fields given, after checking all of it."""
    for name, value in fields.items():
        setattr(campaign, name, value)
    check_campaign(campaign)
    campaign.save()
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    """Deletes the campaign and its invitations shown; conversations keep its message."""
    campaign.delete()


def visitor_key(*, customer: Customer | None, ip: str) -> str:
    """Who saw an invitation, for counting once: the customer, else their address, hashed
    with the site's secret (an address is personal data; the hash only needs to repeat)."""
    if customer is not None:
        return f"customer:{customer.pk}"
    digest = hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()
    return f"ip:{digest[:40]}"


def campaign_mark_shown(
    *, campaign: Campaign, visitor: str, at: datetime | None = None
) -> tuple[CampaignShown, bool]:
    """Note that a visitor saw the invitation: once per visitor, campaign and UTC day,
    however often the widget says so. Returns (row, created)."""
    at = at or timezone.now()
    day = at.astimezone(UTC).date()
    try:
        with transaction.atomic():  # a savepoint: two tabs may race
            row, created = CampaignShown.objects.get_or_create(
                campaign=campaign, visitor=visitor, day=day, defaults={"at": at}
            )
    except IntegrityError:
        return CampaignShown.objects.get(campaign=campaign, visitor=visitor, day=day), False
    return row, created


class Invitations:
    """The core's question (seams.CampaignInvitations), answered from the campaigns."""

    def __call__(self, *, campaign: Any) -> Invitation:
        return invitation_of(campaign=campaign)

    def any_enabled(self) -> bool:
        return Campaign.objects.filter(enabled=True).exists()


def invitation_of(*, campaign: Any) -> Invitation:
    """The core's question (seams.CampaignInvitations): the invitation a customer answers."""
    found = (
        Campaign.objects.filter(pk=campaign, enabled=True)
        .select_related("team", "sender__public_profile")
        .first()
    )
    if found is None:
        message = _("No such campaign, or it has ended.")
        raise InvalidInput(message, fields={"campaign": message})
    return Invitation(campaign=found.pk, team=found.team, body=found.message, sender=found.sender)
