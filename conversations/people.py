"""How agents are shown: the one place that decides an agent's name and avatar.

Customers see `public_name` (the widget, live events, emails, canned placeholders): the
display name, else the first and last name, else a neutral "Support agent", never the email
address. Colleagues see `user_name`, which falls back to the email so that two agents
without names can still be told apart (admin lists, transfer pickers, reports).

Reading a user's profile costs a query unless the caller read it with the user
(`select_related("assignee__public_profile")`, or `authors_with_profiles()` for messages).
"""

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch
from django.utils.translation import gettext

# Avatar backgrounds, each with white initials at a contrast of at least 4.5:1 (WCAG AA).
AVATAR_COLORS = (
    "#1d4ed8",  # blue
    "#047857",  # green
    "#b45309",  # amber
    "#be123c",  # rose
    "#6d28d9",  # violet
    "#0e7490",  # cyan
    "#a21caf",  # fuchsia
    "#4d7c0f",  # olive
)


def display_name(user: Any) -> str:
    """The name the agent chose to show customers, or ""."""
    try:
        return user.public_profile.display_name.strip()
    except ObjectDoesNotExist:
        return ""


def public_name(user: Any) -> str:
    """An agent as customers see them; never their address."""
    return display_name(user) or user.get_full_name() or gettext("Support agent")


def user_name(user: Any) -> str:
    """An agent as colleagues see them: as customers do, but the email rather than nobody."""
    return display_name(user) or user.get_full_name() or user.email or user.get_username()


def initials(name: str) -> str:
    """ "Ayşe Yılmaz" → "AY": the first letters of the first two words."""
    return "".join(word[0] for word in name.split()[:2]).upper()


def avatar_color(user_id: int) -> str:
    """A colour that stays the agent's own across pages, processes and restarts."""
    digest = hashlib.sha256(str(user_id).encode()).digest()
    return AVATAR_COLORS[digest[0] % len(AVATAR_COLORS)]


def avatar(user: Any) -> dict[str, str]:
    """Initials on a coloured circle: {"initials", "color"} (JSON primitives, for events)."""
    return {"initials": initials(public_name(user)), "color": avatar_color(user.pk)}


def authors_with_profiles() -> Prefetch:
    """For a query of messages: their agents with their profiles, in one more query."""
    users = get_user_model().objects.select_related("public_profile")
    return Prefetch("agent", queryset=users)
