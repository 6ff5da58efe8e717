"""Mentions: `@handle` in a private note names a colleague (docs/workspace.md "Mentions").

The syntax, precisely:

- A mention is `@` followed by a handle, where the `@` starts the note or follows a character
  that cannot be part of an email address (a space, a bracket, a comma, …): in
  `write to ayse@example.com` nobody is mentioned.
- A handle is an agent's email address (`@ayse@example.com`) or its part before the `@`
  (`@ayse`), in any letter case. A full stop, comma or other punctuation right after it ends
  the sentence, not the handle (`thanks @ayse.` names ayse).
- A short handle names the one agent with that part before the `@` among those who may read
  the conversation; when two of them share it, only the full address names either.
- Only agents who may read the conversation (selectors.agents_who_may_read) can be
  mentioned; a handle naming anyone else, the note's author or nobody is left as written.

Mentions exist in private notes only: `@` in a message the customer sees does nothing.
"""

import re
from typing import Any

from .models import Mention, Message
from .selectors import agents_who_may_read

# `@` not preceded by what an address may hold, then a local part, then maybe a domain.
MENTION = re.compile(
    r"(?<![\w.%+\-@])@(?P<handle>[\w.%+\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?)",
)
MAX_MENTIONS = 20  # per note: more is a broadcast, not a mention


def handles_in(body: str) -> list[str]:
    """The handles a note names, lower-case, in order, each once (no database)."""
    found: list[str] = []
    for match in MENTION.finditer(body):
        handle = match.group("handle").rstrip(".").lower()
        if handle and handle not in found:
            found.append(handle)
    return found[:MAX_MENTIONS]


def resolve(handles: list[str], candidates: list[Any]) -> list[Any]:
    """The candidates (users) the handles name, in the order named (no database)."""
    by_email = {user.email.lower(): user for user in candidates if user.email}
    by_local: dict[str, list[Any]] = {}
    for email, user in by_email.items():
        by_local.setdefault(email.partition("@")[0], []).append(user)
    named: list[Any] = []
    for handle in handles:
        same_local = by_local.get(handle, [])
        user = by_email.get(handle) or (same_local[0] if len(same_local) == 1 else None)
        if user is not None and user not in named:
            named.append(user)
    return named


def mentions_create(*, message: Message) -> list[Mention]:
    """Store the mentions of a private note, inside the transaction that writes it (its
    event's payload lists them). A public message or a note naming nobody costs no query."""
    if not message.private or message.agent_id is None:
        return []
    handles = handles_in(message.body)
    if not handles:
        return []
    candidates = agents_who_may_read(message.conversation).exclude(pk=message.agent_id)
    named = resolve(handles, list(candidates.select_related("public_profile")))
    return Mention.objects.bulk_create(
        [
            Mention(
                message=message,
                conversation_id=message.conversation_id,
                user=user,
                created_at=message.created_at,
            )
            for user in named
        ]
    )
