"""Which campaigns a visitor is invited by, now (docs/campaigns.md "Who is invited")."""

import re
import zoneinfo
from datetime import datetime, time, timedelta
from functools import lru_cache

from django.utils import timezone

from agents.selectors import availability
from conversations.models import Customer, Team

from .models import Campaign, UrlRule

# A visitor is "returning" once their first widget session is this old.
RETURNING_AFTER = timedelta(minutes=30)


def is_returning(customer: Customer, now: datetime) -> bool:
    return customer.created_at <= now - RETURNING_AFTER


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):  # refused when saved; never a 500
        return None


def url_matches(campaign: Campaign, url: str) -> bool:
    value = campaign.url_value
    if campaign.url_kind == UrlRule.STARTS_WITH:
        return url.startswith(value)
    if campaign.url_kind == UrlRule.REGEX:
        pattern = _compiled(value)
        return pattern is not None and pattern.search(url) is not None
    return value in url


def within_hours(start: time, end: time, now: time) -> bool:
    """Whether `now` is in [start, end); an end before the start runs past midnight."""
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def active_now(campaign: Campaign, now: datetime) -> bool:
    if campaign.active_from is None or campaign.active_until is None:
        return True
    try:
        zone = zoneinfo.ZoneInfo(campaign.team.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(zone).time()
    return within_hours(campaign.active_from, campaign.active_until, local)


def campaigns_for_visitor(
    *, url: str, returning: bool, language: str, now: datetime | None = None
) -> list[Campaign]:
    """Enabled campaigns whose rules pick this visitor now, and whose team can take a chat
    at once (the widget's own availability: nobody is invited to wait)."""
    now = now or timezone.now()
    candidates = Campaign.objects.filter(enabled=True).select_related(
        "team", "sender__public_profile"
    )
    chosen = [
        campaign
        for campaign in candidates
        if (not campaign.languages or language in campaign.languages)
        and (campaign.returning is None or campaign.returning == returning)
        and url_matches(campaign, url)
        and active_now(campaign, now)
    ]
    live: dict[int, bool] = {}

    def can_chat_live(team: Team) -> bool:
        if team.pk not in live:
            live[team.pk] = availability(team).can_chat_live
        return live[team.pk]

    return [campaign for campaign in chosen if can_chat_live(campaign.team)]
