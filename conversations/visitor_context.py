"""What the widget tells agents about a visitor, checked before it is stored: page URLs and
titles, the browser, the time zone and the embedding site's custom attributes.

No database here: services.py stores what these functions return. Everything comes from the
customer's browser, so it is untrusted: capped, and URLs only http(s).
"""

import re
import zoneinfo
from typing import Any

from django.utils.translation import gettext as _

from .errors import InvalidInput

PAGEVIEWS_KEPT = 50  # per customer: the newest; older ones are deleted as a new one arrives
URL_LIMIT = 2000
TITLE_LIMIT = 300
ATTRIBUTES_MAX_KEYS = 50
ATTRIBUTE_KEY_LIMIT = 40
ATTRIBUTE_VALUE_LIMIT = 255
# The schema states these exact patterns (serializers.py): what it promises is what is taken.
HTTP_URL = r"^https?://[^\u0000-\u0020/?#]+([/?#][^\u0000-\u0020]*)?$"
ATTRIBUTE_NAME = r"^[A-Za-z0-9_.-]{1,40}$"
_HTTP_URL = re.compile(HTTP_URL)
ATTRIBUTE_KEY = re.compile(ATTRIBUTE_NAME)

# (name shown, token in the user agent), first match wins: Edge and Opera also say "Chrome",
# Chrome also says "Safari".
_BROWSERS = [
    ("Edge", "Edg/"),
    ("Opera", "OPR/"),
    ("Samsung Internet", "SamsungBrowser/"),
    ("Firefox", "Firefox/"),
    ("Chrome", "Chrome/"),
    ("Chrome", "CriOS/"),
    ("Safari", "Safari/"),
]
_SYSTEMS = [
    ("Android", "Android"),
    ("iOS", "iPhone"),
    ("iOS", "iPad"),
    ("Windows", "Windows"),
    ("macOS", "Mac OS X"),
    ("ChromeOS", "CrOS"),
    ("Linux", "Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """The browser and system names ("Firefox · Windows") from a User-Agent header; "" when
    neither is known. Names only, in no language: agents of every language read them.

    Deliberately simple (no dependency): agents want a hint, not a device database."""
    browser = next((name for name, token in _BROWSERS if token in user_agent), "")
    system = next((name for name, token in _SYSTEMS if token in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)


def check_page_url(value: Any, *, field: str, required: bool = True) -> str:
    """An absolute http(s) URL without spaces or control characters, at most URL_LIMIT
    characters ("" when optional and empty). Browsers send location.href so encoded."""
    if not isinstance(value, str):
        raise _invalid(field, _("Must be a string."))
    if not value and not required:
        return ""
    if len(value) > URL_LIMIT:
        raise _invalid(field, _("At most %(limit)d characters.") % {"limit": URL_LIMIT})
    if not _HTTP_URL.match(value):
        raise _invalid(field, _("An http or https address."))
    return value


def clean_title(value: Any) -> str:
    """A page title on one line, cut to TITLE_LIMIT characters (titles are often long)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid("title", _("Must be a string."))
    return " ".join(value.replace("\x00", "").split())[:TITLE_LIMIT]


def check_time_zone(value: Any) -> str:
    """An IANA time zone name this system knows, or "" (unknown zones are dropped, not
    refused: an old browser should not lose its page view over it)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return ""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ""
    return value


def check_attributes(value: Any) -> dict[str, str | int | float | bool | None]:
    """A flat JSON object: at most ATTRIBUTES_MAX_KEYS keys of letters, digits, `_.-`, values
    strings (capped), numbers, booleans or null (null removes the attribute)."""
    if not isinstance(value, dict):
        raise _invalid("attributes", _("A JSON object of names and values."))
    if len(value) > ATTRIBUTES_MAX_KEYS:
        message = _("At most %(limit)d attributes.") % {"limit": ATTRIBUTES_MAX_KEYS}
        raise _invalid("attributes", message)
    checked: dict[str, str | int | float | bool | None] = {}
    for key, item in value.items():
        if not ATTRIBUTE_KEY.match(key):
            message = _(
                "“%(key)s”: a name of at most %(limit)d letters, digits, “_”, “.” or “-”."
            ) % {"key": key[:ATTRIBUTE_KEY_LIMIT], "limit": ATTRIBUTE_KEY_LIMIT}
            raise _invalid("attributes", message)
        if isinstance(item, str):
            if len(item) > ATTRIBUTE_VALUE_LIMIT:
                message = _("“%(key)s”: at most %(limit)d characters.") % {
                    "key": key,
                    "limit": ATTRIBUTE_VALUE_LIMIT,
                }
                raise _invalid("attributes", message)
            item = item.replace("\x00", "")
        elif item is not None and not isinstance(item, (bool, int, float)):
            message = _("“%(key)s”: a string, a number, true, false or null.") % {"key": key}
            raise _invalid("attributes", message)
        elif isinstance(item, float) and item != item:  # NaN cannot be stored as JSON
            raise _invalid("attributes", _("“%(key)s”: not a number.") % {"key": key})
        checked[key] = item
    return checked


def merged_attributes(
    current: dict[str, Any], changes: dict[str, str | int | float | bool | None]
) -> dict[str, Any]:
    """`current` with `changes` applied (null deletes); refused beyond ATTRIBUTES_MAX_KEYS."""
    merged = {**current, **changes}
    merged = {key: item for key, item in merged.items() if item is not None}
    if len(merged) > ATTRIBUTES_MAX_KEYS:
        message = _("At most %(limit)d attributes.") % {"limit": ATTRIBUTES_MAX_KEYS}
        raise _invalid("attributes", message)
    return merged


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: message})
