"""History records: one JSON line parsed into a ConversationRecord, or a RejectedLine that
says why not (shared/API.md "History import"). Both importers, the replay and the bulk COPY,
read lines through parse_record, so they accept and refuse exactly the same lines.

The steps of a record are merged in time order; at one instant they go in the lifecycle's
order (simultaneous_rank: events, then messages, then a resolution, then ratings).
"""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from .. import lifecycle
from ..files.checks import LinkedFile, clean_name
from ..lifecycle import simultaneous_rank
from ..models import AuthorKind, Status

# A status event may say when a snooze ends; without it the snooze lasts a day.
DEFAULT_SNOOZE = timedelta(days=1)
EVENT_TYPES = ("assigned", "status", "resolved", "reopened")
AUTHOR_KINDS = frozenset(AuthorKind.values)
# Agent emails validated already: a file names the same few agents thousands of times.
_VALID_AGENT_EMAILS: set[str] = set()
IMPORTED_STATUSES = (Status.OPEN, Status.PENDING, Status.SNOOZED)


class RejectedLine(Exception):
    """A line that cannot be imported; `reason` says why, for the person running the import."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CustomerRecord:
    external_id: str | None
    name: str
    email: str


@dataclass(frozen=True, order=True)
class Step:
    """One message, event or rating of a conversation, in the order it is replayed."""

    at: datetime
    rank: int
    position: int
    where: str  # e.g. "messages[2]", to name it in an error
    kind: str  # "message", an event type, or "rating"
    data: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class ConversationRecord:
    external_id: str
    channel: str
    team: str | None
    customer: CustomerRecord
    steps: list[Step]


def lifecycle_step(step: Step, agent: Any) -> lifecycle.Step:
    """The lifecycle step an import step is (the bulk planner applies it in memory), with
    `agent` naming the step's agent however the caller names agents."""
    data, at = step.data, step.at
    if step.kind == "message":
        body = lifecycle.preview_text(data["body"], [file.name for file in data["files"]])
        return lifecycle.PostMessage(at, data["author_kind"], body, data["private"], agent)
    if step.kind == "assigned":
        return lifecycle.Assign(at, agent)
    if step.kind == "status":
        return lifecycle.SetStatus(at, data["status"], agent, data.get("snoozed_until"))
    if step.kind == "resolved":
        return lifecycle.Resolve(at, agent)
    if step.kind == "reopened":
        return lifecycle.Reopen(at, agent)
    return lifecycle.Rate(at, data["score"])


# --- Parsing: one line into a ConversationRecord, or a RejectedLine saying why ---------------


def parse_record(line: str | bytes) -> ConversationRecord:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedLine(_("invalid JSON (%(error)s)") % {"error": error}) from error
    if not isinstance(data, dict):
        raise RejectedLine(_("a line must be a JSON object (one conversation)"))
    external_id = _identifier(data.get("external_id"), "external_id")
    if external_id is None:
        raise RejectedLine(_problem("external_id", _("required")))
    channel = _text(data.get("channel"), "channel", max_length=32) or "web"
    team = _text(data.get("team"), "team", max_length=100) or None
    customer = _customer(data.get("customer"))
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RejectedLine(_problem("messages", _("a non-empty list is required")))
    steps = [_message_step(item, index) for index, item in enumerate(messages)]
    steps += [_event_step(item, index) for index, item in enumerate(_list(data, "events"))]
    steps += [_rating_step(item, index) for index, item in enumerate(_list(data, "ratings"))]
    steps.sort()
    return ConversationRecord(external_id, channel, team, customer, steps)


def _customer(value: Any) -> CustomerRecord:
    if not isinstance(value, dict):
        raise RejectedLine(_problem("customer", _("an object is required")))
    email = _text(value.get("email"), "customer.email", max_length=254)
    if email:
        _check_email(email, "customer.email")
    return CustomerRecord(
        external_id=_identifier(value.get("external_id"), "customer.external_id"),
        name=_text(value.get("name"), "customer.name", max_length=200),
        email=email,
    )


def _message_step(item: Any, index: int) -> Step:
    where = f"messages[{index}]"
    item = _object(item, where)
    kind = item.get("author_kind")
    if kind not in AUTHOR_KINDS:
        raise RejectedLine(
            _problem(
                f"{where}.author_kind",
                _("unknown author kind %(kind)s (customer, agent, bot or system)")
                % {"kind": _shown(kind)},
            )
        )
    agent = _agent(item.get("agent"), f"{where}.agent") if kind == AuthorKind.AGENT else None
    if kind == AuthorKind.AGENT and agent is None:
        raise RejectedLine(_problem(f"{where}.agent", _("an agent message names its agent")))
    private = item.get("private", False)
    if not isinstance(private, bool):
        raise RejectedLine(_problem(f"{where}.private", _("true or false")))
    files = [
        _linked_file(file, f"{where}.attachments[{n}]")
        for n, file in enumerate(_list(item, "attachments"))
    ]
    data = {
        "author_kind": AuthorKind(kind),
        "agent": agent,
        "body": item.get(
            "body", "" if files else None
        ),  # checked by message_post, like any message
        "private": private,
        "client_id": f"import-{index}",
        "files": files,
    }
    at = _time(item.get("sent_at"), f"{where}.sent_at")
    return Step(at, simultaneous_rank("message"), index, where, "message", data)


def _event_step(item: Any, index: int) -> Step:
    where = f"events[{index}]"
    item = _object(item, where)
    kind = item.get("type")
    if kind not in EVENT_TYPES:
        raise RejectedLine(
            _problem(
                f"{where}.type",
                _("unknown event type %(type)s (assigned, status, resolved or reopened)")
                % {"type": _shown(kind)},
            )
        )
    at = _time(item.get("at"), f"{where}.at")
    if kind == "assigned" and "agent" not in item:
        raise RejectedLine(
            _problem(f"{where}.agent", _("an email, or null to unassign, is required"))
        )
    data: dict[str, Any] = {"agent": _agent(item.get("agent"), f"{where}.agent")}
    if kind == "status":
        status = item.get("status")
        if status not in IMPORTED_STATUSES:
            raise RejectedLine(
                _problem(
                    f"{where}.status",
                    _("unknown status %(status)s (open, pending or snoozed)")
                    % {"status": _shown(status)},
                )
            )
        data["status"] = status
        if status == Status.SNOOZED:
            until = item.get("snoozed_until")
            data["snoozed_until"] = (
                _time(until, f"{where}.snoozed_until") if until else at + DEFAULT_SNOOZE
            )
    return Step(at, simultaneous_rank(kind), index, where, kind, data)


def _rating_step(item: Any, index: int) -> Step:
    where = f"ratings[{index}]"
    item = _object(item, where)
    data = {
        "score": item.get("score"),  # checked by conversation_rate
        "comment": _text(item.get("comment"), f"{where}.comment", max_length=10_000),
    }
    at = _time(item.get("at"), f"{where}.at")
    return Step(at, simultaneous_rank("rating"), index, where, "rating", data)


def _linked_file(value: Any, where: str) -> LinkedFile:
    """An attachment record {"name", "content_type", "size", "url"}: kept as a link, never
    downloaded (docs/import.md)."""
    item = _object(value, where)
    name = _text(item.get("name"), f"{where}.name", max_length=255)
    url = _text(item.get("url"), f"{where}.url", max_length=2000)
    if not name:
        raise RejectedLine(_problem(f"{where}.name", _("required")))
    if not re.fullmatch(r"https?://[^\s]+", url):
        raise RejectedLine(_problem(f"{where}.url", _("an http(s) address")))
    size = item.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RejectedLine(_problem(f"{where}.size", _("a size in bytes")))
    content_type = _text(item.get("content_type"), f"{where}.content_type", max_length=100)
    return LinkedFile(clean_name(name), content_type or "application/octet-stream", size, url)


def _agent(value: Any, where: str) -> str | None:
    if value is None:
        return None
    email = _text(value, where, max_length=150).strip().lower()  # the username is the email
    if email not in _VALID_AGENT_EMAILS:
        _check_email(email, where)
        if len(_VALID_AGENT_EMAILS) < 10_000:
            _VALID_AGENT_EMAILS.add(email)
    return email


def _check_email(email: str, where: str) -> None:
    try:
        validate_email(email)
    except ValidationError as error:
        problem = _("%(value)s is not an email address") % {"value": _shown(email)}
        raise RejectedLine(_problem(where, problem)) from error


def _time(value: Any, where: str) -> datetime:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        problem = _("%(value)s is not an ISO 8601 time with a time zone") % {"value": _shown(value)}
        raise RejectedLine(_problem(where, problem))
    return parsed


def _identifier(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(value, where, max_length=255)


def _text(value: Any, where: str, *, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RejectedLine(_problem(where, _("text is required")))
    if len(value) > max_length:
        problem = _("at most %(max)d characters") % {"max": max_length}
        raise RejectedLine(_problem(where, problem))
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RejectedLine(_problem(where, _("an object is required")))
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RejectedLine(_problem(key, _("a list is required")))
    return value


def _shown(value: Any) -> str:
    """A value quoted for an error message, kept short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _problem(where: str, problem: str) -> str:
    return _("%(where)s: %(problem)s") % {"where": where, "problem": problem}
