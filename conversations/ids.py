"""Ids as people type them, in query strings and in JSON strings."""

MAX_ID = 2**63 - 1  # larger ids cannot exist (bigint); answering 404 beats a database error


def parse_id(text: str) -> int | None:
    """The id `text` spells in ASCII digits, or None: not such a number, or too large for one.

    Not str.isdigit() alone: it accepts "¹", which int() then refuses with a ValueError."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_ID else None
