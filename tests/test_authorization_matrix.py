"""The authorization matrix (issue 12): every endpoint × every kind of caller, one table.

Read ROWS as the specification. A row is one request (method, path, the object it addresses)
and what each caller gets, one column per role:

    anonymous    no credentials
    customer_a   `Bearer` token of customer A, who owns conv_a (team Support)
    customer_b   `Bearer` token of customer B, who owns conv_b (team Billing)
    agent_in     an agent of Support (API: `Token`; pages: session)
    agent_out    an agent of Billing only: outside conv_a's team
    admin        a superuser in no team
    non_staff    an active Django user who is not staff, so not an agent

Each (row, role) cell is its own test, in a world built afresh (`world`). A denied API cell
must answer in the error shape of shared/API.md; an allowed cell must hold the object it
asked for (and a list only what the role may see: `SEES`). `test_every_endpoint_has_a_row`
fails when an endpoint (URL resolver or OpenAPI schema) has no row. The websockets have
their own, smaller table at the end.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.views import APIView

from agents.canned import canned_response_create
from agents.models import Agent, Macro
from campaigns.models import Campaign
from conversations.files import links
from conversations.files.checks import check_file
from conversations.mail.outbound import resume_token
from conversations.models import Label, SavedView, Team
from conversations.services import (
    Author,
    attachments_store,
    conversation_resolve,
    conversation_start,
    customer_create,
    customer_note_create,
    message_post,
)
from helpcenter.models import Article, ArticleFeedback, Category, SuggestionSession
from helpcenter.services import article_save
from helpdesk.asgi import application
from inboxes.models import DeliveryAttempt
from inboxes.services import inbox_create
from reports.export import export_create
from reports.models import ExportStatus, ReportExport
from reports.selectors import Slice
from tests.conversations.socket_fixtures import bodies, fresh_channel_layer, post  # noqa: F401
from tests.conversations.test_consumers import assert_silent, receive, resume, socket

ROLES = ("anonymous", "customer_a", "customer_b", "agent_in", "agent_out", "admin", "non_staff")
CUSTOMERS = {"customer_a", "customer_b"}

# What a cell expects besides a plain status code (which must come in the API error shape
# under /api/).
OK = "ok"  # 2xx, and the answer holds the object (the row's check)
LOGIN = "login"  # 302 to the admin's login page (staff pages)
MOVED = "moved"  # 3xx elsewhere: the page sends the caller on (and that page decides)

Expect = str | int
Check = Callable[[SimpleNamespace, str, Any], None]

# Who sees which conversation, canned response and report export: the lists' contents.
SEES = {
    "customer_a": {"conv_a"},
    "customer_b": {"conv_b"},
    "agent_in": {"conv_a", "canned_x", "canned_shared", "export_in", "note_in"}
    | {"macro_x", "macro_in", "macro_global"}
    | {"view_in", "view_team"},  # saved views: one's own and one's teams'
    "agent_out": {"conv_b", "canned_shared", "note_in", "macro_global"},
    # An admin sees every team, but a report export stays its owner's (a personal download),
    # and so does a personal macro.
    "admin": {"conv_a", "conv_b", "canned_x", "canned_shared", "note_in"}
    | {"macro_x", "macro_global"},
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {name} is the id of the world's object of that name
    expect: tuple[Expect, ...]  # one per ROLES
    body: dict[str, Any] | Callable[[SimpleNamespace], dict[str, Any]] | None = None
    check: Check | None = None  # run on every allowed cell's answer
    prepare: Callable[[SimpleNamespace], None] | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def row(method: str, path: str, *expect: Expect, **options: Any) -> Row:
    assert len(expect) == len(ROLES), f"{method} {path}: one expectation per role"
    return Row(method, path, tuple(expect), **options)


# --- What an allowed answer must hold --------------------------------------------------------


def is_object(name: str, **fields: Any) -> Check:
    def check(world: SimpleNamespace, role: str, data: Any) -> None:
        assert data["id"] == world.ids[name], data
        for key, value in fields.items():
            assert data[key] == value, (key, data)

    return check


def listing(*names: str) -> Check:
    """`results` holds exactly those of `names` the role may see (SEES)."""

    def check(world: SimpleNamespace, role: str, data: Any) -> None:
        universe = {world.ids[name]: name for name in names}
        shown = {universe[item["id"]] for item in data["results"] if item["id"] in universe}
        assert shown == SEES[role] & set(names), f"{role} sees {shown}"

    return check


def messages_of(name: str, *, private: bool) -> Check:
    """The messages of conversation `name`; its private note only for agents."""

    def check(world: SimpleNamespace, role: str, data: Any) -> None:
        messages = data["results"] if "results" in data else data["messages"]
        assert messages and {m["conversation"] for m in messages} == {world.ids[name]}
        assert (world.note.pk in {m["id"] for m in messages}) is private

    return check


def about(name: str, key: str = "conversation") -> Check:
    def check(world: SimpleNamespace, role: str, data: Any) -> None:
        assert data[key] == world.ids[name], data

    return check


def has(*keys: str) -> Check:
    def check(world: SimpleNamespace, role: str, data: Any) -> None:
        assert set(keys) <= set(data), data

    return check


def own_agent(world: SimpleNamespace, role: str, data: Any) -> None:
    assert data["email"] == getattr(world, role).email


def every_agent(world: SimpleNamespace, role: str, data: Any) -> None:
    assert {world.agent_in.pk, world.agent_out.pk} <= {a["id"] for a in data["results"]}


def every_team(world: SimpleNamespace, role: str, data: Any) -> None:
    assert {"Support", "Billing"} <= {team["name"] for team in data["results"]}


def own_new_conversation(world: SimpleNamespace, role: str, data: Any) -> None:
    assert data["customer"]["id"] == getattr(world, role).pk


def rendered_for_a(world: SimpleNamespace, role: str, data: Any) -> None:
    assert data["id"] == world.ids["canned_x"] and data["rendered"] == "Hello Ayşe A"


def transferred_to_billing(world: SimpleNamespace, role: str, data: Any) -> None:
    assert data["id"] == world.ids["conv_a"] and data["team"]["name"] == "Billing"


def bulk_on_a(world: SimpleNamespace, role: str, data: Any) -> None:
    """A bulk change answers per id: done where the role may change conv_a, else not_found."""
    (result,) = data["results"]
    assert result["id"] == world.ids["conv_a"]
    assert result["ok"] is ("conv_a" in SEES[role]), result
    if not result["ok"]:
        assert result["error"]["code"] == "not_found"


def macro_applied(world: SimpleNamespace, role: str, data: Any) -> None:
    assert data["conversation"]["id"] == world.ids["conv_a"], data
    assert data["conversation"]["priority"] == "high" and data["message"] is None, data


def csv_of_export(world: SimpleNamespace, role: str, data: Any) -> None:
    assert "export-in-csv" in data


AUTOCOMPLETE = "?app_label=conversations&model_name=conversation&field_name=labels"


def resolve_a(world: SimpleNamespace) -> None:
    conversation_resolve(conversation=world.conv_a, by=world.agent_in)


def give_capacity(world: SimpleNamespace) -> None:
    """Starting a conversation assigns it to the agent, who needs a free place."""
    Agent.objects.update(capacity=5)


# --- The table --------------------------------------------------------------------------------

MESSAGE = {"body": "Hello from the matrix", "client_id": "matrix-1"}
EMAIL = {"from": "a@example.com", "text": "hi"}
TRANSFER = {"team": "Billing", "note": "Billing question"}
CANNED = {"shortcut": "matrix", "body": "Hi", "team": "Support"}
RENDER = "/api/v1/canned-responses/{canned_x}/render?conversation={conv_a}"
MACRO = {"name": "Matrix macro two", "scope": "team", "team": "Support", "priority": "low"}
ARTICLE = {"title": "Matrix article two", "body": "Text", "language": "en", "published": True}
HELP_ARTICLE = "/help/en/articles/{article_slug}/"
EXPORT = "/api/v1/reports/exports/{export_in}"
FOLLOWED: dict[str, Any] = {}  # the conversation that followed suggestions: conv_a


def follow_conv_a(world: SimpleNamespace) -> None:
    FOLLOWED["conversation"] = world.ids["conv_a"]


CAMPAIGN = {
    "message": "Need help?",
    "team": "Support",
    "url_rule": {"kind": "contains", "value": "/cart"},
    "delay_seconds": 5,
    "enabled": True,
}

# fmt: off
ROWS: list[Row] = [
    #   method   path                                              anon   A      B      in     out    admin  non-staff
    # Widget, public: asked before a session exists.
    row("POST",  "/api/v1/widget/sessions",                        OK,    OK,    OK,    OK,    OK,    OK,    OK,
        body={"name": "N"}, check=has("customer_token")),
    row("GET",   "/api/v1/widget/availability",                    OK,    OK,    OK,    OK,    OK,    OK,    OK,
        check=has("agents_online")),
    row("GET",   "/api/v1/widget/strings",                         OK,    OK,    OK,    OK,    OK,    OK,    OK),
    # Widget: a customer's own conversations only; another's id answers 404 (shared/API.md).
    row("GET",   "/api/v1/widget/conversations",                   401,   OK,    OK,    401,   401,   401,   401,
        check=listing("conv_a", "conv_b")),
    row("POST",  "/api/v1/widget/conversations",                   401,   OK,    OK,    401,   401,   401,   401,
        body=MESSAGE, check=own_new_conversation),
    row("GET",   "/api/v1/widget/conversations/{conv_a}",          401,   OK,    404,   401,   401,   401,   401,
        check=is_object("conv_a")),
    row("GET",   "/api/v1/widget/conversations/{conv_a}/messages", 401,   OK,    404,   401,   401,   401,   401,
        check=messages_of("conv_a", private=False)),
    row("POST",  "/api/v1/widget/conversations/{conv_a}/messages", 401,   OK,    404,   401,   401,   401,   401,
        body=MESSAGE, check=about("conv_a")),
    row("POST",  "/api/v1/widget/conversations/{conv_a}/rating",   401,   OK,    404,   401,   401,   401,   401,
        body={"score": 5}, prepare=resolve_a, check=has("score")),
    # The help center: published articles are public (the widget asks before a session
    # exists); a vote carries the customer's token when there is one.
    row("GET",   "/api/v1/widget/articles?q=matrix&lang=en",       OK,    OK,    OK,    OK,    OK,    OK,    OK,
        check=has("results")),
    row("GET",   "/api/v1/widget/articles/{article}",              OK,    OK,    OK,    OK,    OK,    OK,    OK,
        check=is_object("article")),
    row("GET",   "/api/v1/widget/articles/{draft}",                404,   404,   404,   404,   404,   404,   404),
    row("POST",  "/api/v1/widget/articles/{article}/feedback",     OK,    OK,    OK,    OK,    OK,    OK,    OK,
        body={"helpful": True}, check=about("article", key="article")),
    # Suggestion sessions: recorded before a session exists; the conversation that followed
    # them is the customer's own (B names A's: 404).
    row("POST",  "/api/v1/widget/suggestions",                     OK,    OK,    OK,    OK,    OK,    OK,    OK,
        body={"articles": [1]}, check=has("key")),
    row("POST",  "/api/v1/widget/suggestions/{suggestions}/conversation", 401, OK, 404, 401,  401,   401,   401,
        body=FOLLOWED, prepare=follow_conv_a, check=about("conv_a")),
    # The NPS question is the customer's own (another's conversation: tests/conversations/test_nps_api.py).
    row("GET",   "/api/v1/widget/nps",                             401,   OK,    OK,    401,   401,   401,   401,
        check=has("ask", "ask_again_at")),
    row("POST",  "/api/v1/widget/nps",                             401,   OK,    OK,    401,   401,   401,   401,
        body={"score": 9}, check=has("score")),
    # Handing over to a person (or saying the bot answered): the customer's own conversation;
    # A's is held by no bot, so A hears 409 no_bot and B a 404.
    row("POST",  "/api/v1/widget/conversations/{conv_a}/handoff",  401,   409,   404,   401,   401,   401,   401),
    row("POST",  "/api/v1/widget/conversations/{conv_a}/answered", 401,   409,   404,   401,   401,   401,   401),
    # Campaign invitations: asked and counted before a session exists (a token, when sent,
    # says whose); an invitation shown counts once a day per visitor, so a second call is 200.
    row("GET",   "/api/v1/widget/campaigns?url=https://shop.example.com/", OK, OK, OK, OK, OK,  OK,    OK,
        check=has("results")),
    row("POST",  "/api/v1/widget/campaigns/{campaign}/shown",      OK,    OK,    OK,    OK,    OK,    OK,    OK,
        check=about("campaign", key="campaign")),
    # Page views are the customer's own: the token says whose.
    row("POST",  "/api/v1/widget/pageviews",                       401,   OK,    OK,    401,   401,   401,   401,
        body={"url": "https://shop.example.com/"}, check=has("url", "at")),
    # Mail providers hold the inbound secret, no role does: a Bearer token that is not the
    # secret is a wrong secret (403), any other scheme no secret at all (401).
    row("POST",  "/api/v1/inbound/email",                          401,   403,   403,   401,   401,   401,   401,
        body=EMAIL),
    # Files, by signed link (docs/attachments.md). A customer's link is their credential (an
    # <img> on the shop's page sends no token): whoever holds it gets the file until it
    # expires. A staff link works with its own user's credentials only, and only while that
    # user may read the conversation; a private note's file has no customer link at all.
    row("GET",   "/api/v1/files/{file_for_a}",                     OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/api/v1/files/{file_for_in}",                    404,   404,   404,   OK,    404,   404,   404),
    row("GET",   "/api/v1/files/{file_for_admin}",                 404,   404,   404,   404,   404,   OK,    404),
    row("GET",   "/api/v1/files/{file_for_out}",                   404,   404,   404,   404,   404,   404,   404),
    row("GET",   "/api/v1/files/{note_file_for_a}",                404,   404,   404,   404,   404,   404,   404),
    # Agents: the conversations of their teams and assignments; admins every team. A
    # conversation the agent may not see answers 404, as for customers.
    row("GET",   "/api/v1/conversations",                          401,   401,   401,   OK,    OK,    OK,    403,
        check=listing("conv_a", "conv_b")),
    row("GET",   "/api/v1/conversations/{conv_a}",                 401,   401,   401,   OK,    404,   OK,    403,
        check=messages_of("conv_a", private=True)),
    row("PATCH", "/api/v1/conversations/{conv_a}",                 401,   401,   401,   OK,    404,   OK,    403,
        body={"priority": "high"}, check=is_object("conv_a", priority="high")),
    row("POST",  "/api/v1/conversations/{conv_a}/transfer",        401,   401,   401,   OK,    404,   OK,    403,
        body=TRANSFER, check=transferred_to_billing),
    row("GET",   "/api/v1/conversations/{conv_a}/messages",        401,   401,   401,   OK,    404,   OK,    403,
        check=messages_of("conv_a", private=True)),
    row("POST",  "/api/v1/conversations/{conv_a}/messages",        401,   401,   401,   OK,    404,   OK,    403,
        body=MESSAGE, check=about("conv_a")),
    row("POST",  "/api/v1/conversations/{conv_a}/read",            401,   401,   401,   OK,    404,   OK,    403,
        body={}, check=about("conv_a")),
    # Saved views: one's own (nobody else's, not even an admin's) and one's teams' (changed by
    # the team's agents and admins). A bulk change answers 200 with each id's outcome.
    row("GET",   "/api/v1/views",                                  401,   401,   401,   OK,    OK,    OK,    403,
        check=listing("view_in", "view_team")),
    row("POST",  "/api/v1/views",                                  401,   401,   401,   OK,    OK,    OK,    403,
        body={"name": "Open", "filters": {"status": "open"}}, check=has("count")),
    row("POST",  "/api/v1/views?shared",                           401,   401,   401,   OK,    403,   OK,    403,
        body={"name": "Open", "filters": {}, "team": "Support"}, check=has("count")),
    row("GET",   "/api/v1/views/{view_in}",                        401,   401,   401,   OK,    404,   404,   403,
        check=is_object("view_in")),
    row("PATCH", "/api/v1/views/{view_team}",                      401,   401,   401,   OK,    404,   OK,    403,
        body={"position": 7}, check=is_object("view_team", position=7)),
    row("DELETE", "/api/v1/views/{view_in}",                       401,   401,   401,   OK,    404,   404,   403),
    row("GET",   "/api/v1/conversations?view={view_team}",         401,   401,   401,   OK,    404,   OK,    403,
        check=listing("conv_a", "conv_b")),
    row("POST",  "/api/v1/conversations/bulk",                     401,   401,   401,   OK,    OK,    OK,    403,
        body=lambda world: {"ids": [world.conv_a.pk], "action": "priority", "priority": "high"},
        check=bulk_on_a),
    # Channels (docs/channels.md): admins configure inboxes; platforms and systems prove who
    # they are with the inbox's secrets, which no role holds (a customer's Bearer token is not
    # an inbox secret); a reply is retried by the agents who may read it (409: it never failed).
    row("GET",   "/api/v1/inboxes",                                401,   401,   401,   403,   403,   OK,    403,
        check=has("results")),
    row("POST",  "/api/v1/inboxes",                                401,   401,   401,   403,   403,   OK,    403,
        body={"channel": "telegram", "name": "Bot", "bot_token": "1:A", "secret_token": "s"},
        check=has("id", "channel", "inbound_url")),
    row("GET",   "/api/v1/channels/{inbox_tg}/webhook",            403,   403,   403,   403,   403,   403,   403),
    row("POST",  "/api/v1/channels/{inbox_tg}/webhook",            401,   401,   401,   401,   401,   401,   401,
        body={"update_id": 1}),
    row("POST",  "/api/v1/channels/{inbox_api}/messages",          401,   401,   401,   401,   401,   401,   401,
        body={"customer": {"external_id": "x"}, "body": "Hi"}),
    row("POST",  "/api/v1/conversations/{conv_a}/messages/{note_msg}/retry",
                                                                   401,   401,   401,   409,   404,   409,   403),
    # A customer's context: for agents who may read one of their conversations; a visitor
    # who has not written yet, for every agent (any agent may reach out). Notes are deleted
    # by their author only (409 for anyone else, admins included).
    row("GET",   "/api/v1/customers/{customer_a}",                 401,   401,   401,   OK,    404,   OK,    403,
        check=is_object("customer_a")),
    row("GET",   "/api/v1/customers/{visitor}",                    401,   401,   401,   OK,    OK,    OK,    403,
        check=is_object("visitor")),
    row("GET",   "/api/v1/customers/{customer_a}/notes",           401,   401,   401,   OK,    404,   OK,    403,
        check=listing("note_in")),
    row("POST",  "/api/v1/customers/{customer_a}/notes",           401,   401,   401,   OK,    404,   OK,    403,
        body={"body": "Prefers email"}, check=has("body", "mine")),
    row("DELETE", "/api/v1/customers/{customer_a}/notes/{note_in}", 401,  401,   401,   OK,    404,   409,   403),
    row("GET",   "/api/v1/visitors",                               401,   401,   401,   OK,    OK,    OK,    403,
        check=has("results")),
    row("POST",  "/api/v1/visitors/{visitor}/conversations",       401,   401,   401,   OK,    OK,    OK,    403,
        body=MESSAGE, prepare=give_capacity, check=has("assignee")),
    row("POST",  "/api/v1/visitors/{customer_a}/conversations",    401,   401,   401,   OK,    404,   OK,    403,
        body=MESSAGE, prepare=give_capacity, check=has("assignee")),
    # Agents: themselves, and every colleague and team (to pick whom to hand a conversation).
    row("GET",   "/api/v1/agents/me",                              401,   401,   401,   OK,    OK,    OK,    403,
        check=own_agent),
    row("PATCH", "/api/v1/agents/me",                              401,   401,   401,   OK,    OK,    OK,    403,
        body={"presence": "away"}, check=own_agent),
    row("GET",   "/api/v1/agents",                                 401,   401,   401,   OK,    OK,    OK,    403,
        check=every_agent),
    # Whom a note on a conversation can mention: for those who may read it.
    row("GET",   "/api/v1/agents?conversation={conv_a}",           401,   401,   401,   OK,    404,   OK,    403,
        check=has("results")),
    # Alert settings: each agent's own.
    row("GET",   "/api/v1/agents/me/alerts",                       401,   401,   401,   OK,    OK,    OK,    403,
        check=has("sound", "desktop", "mentions")),
    row("PATCH", "/api/v1/agents/me/alerts",                       401,   401,   401,   OK,    OK,    OK,    403,
        body={"sound": False}, check=has("sound")),
    row("GET",   "/api/v1/teams",                                  401,   401,   401,   OK,    OK,    OK,    403,
        check=every_team),
    # The bot's mode is the admins' to set (a no-op body: the world stays as it is).
    row("PATCH", "/api/v1/teams/{team_x}",                         401,   401,   401,   403,   403,   OK,    403,
        body={"bot": "off"}),
    # Canned responses: the shared ones and those of the agent's teams (admins: all).
    row("GET",   "/api/v1/canned-responses",                       401,   401,   401,   OK,    OK,    OK,    403,
        check=listing("canned_x", "canned_shared")),
    # Silent contract: a canned response for a team one is not in is a field error (400).
    row("POST",  "/api/v1/canned-responses",                       401,   401,   401,   OK,    400,   OK,    403,
        body=CANNED, check=has("shortcut")),
    row("GET",   RENDER,                                           401,   401,   401,   OK,    404,   OK,    403,
        check=rendered_for_a),
    # Macros: one's own, one's teams' and the global ones; a team's are written by its
    # members (and admins), the global ones by admins; a personal one is its owner's alone.
    row("GET",   "/api/v1/macros",                                 401,   401,   401,   OK,    OK,    OK,    403,
        check=listing("macro_x", "macro_in", "macro_global")),
    row("POST",  "/api/v1/macros",                                 401,   401,   401,   OK,    400,   OK,    403,
        body=MACRO, check=has("scope")),
    row("GET",   "/api/v1/macros/{macro_x}",                       401,   401,   401,   OK,    404,   OK,    403,
        check=is_object("macro_x")),
    row("GET",   "/api/v1/macros/{macro_in}",                      401,   401,   401,   OK,    404,   404,   403,
        check=is_object("macro_in")),
    row("PATCH", "/api/v1/macros/{macro_x}",                       401,   401,   401,   OK,    404,   OK,    403,
        body={"name": "Renamed"}, check=is_object("macro_x")),
    row("PATCH", "/api/v1/macros/{macro_global}",                  401,   401,   401,   403,   403,   OK,    403,
        body={"name": "Renamed"}, check=is_object("macro_global")),
    row("DELETE", "/api/v1/macros/{macro_x}",                      401,   401,   401,   OK,    404,   OK,    403),
    # Applying one: a conversation one may read (else 404) and a macro one may use.
    row("POST",  "/api/v1/conversations/{conv_a}/macros/{macro_x}", 401,  401,   401,   OK,    404,   OK,    403,
        body={}, check=macro_applied),
    row("POST",  "/api/v1/conversations/{conv_a}/macros/{macro_in}", 401, 401,   401,   OK,    404,   404,   403,
        body={}, check=macro_applied),
    # Help center articles: agents read them (drafts too), admins write them.
    row("GET",   "/api/v1/articles",                               401,   401,   401,   OK,    OK,    OK,    403,
        check=has("results")),
    row("POST",  "/api/v1/articles",                               401,   401,   401,   403,   403,   OK,    403,
        body=ARTICLE, check=has("slug")),
    row("GET",   "/api/v1/articles/{draft}",                       401,   401,   401,   OK,    OK,    OK,    403,
        check=is_object("draft")),
    row("PATCH", "/api/v1/articles/{article}",                     401,   401,   401,   403,   403,   OK,    403,
        body={"featured": True}, check=is_object("article", featured=True)),
    row("DELETE", "/api/v1/articles/{article}",                    401,   401,   401,   403,   403,   OK,    403),
    # Campaigns: agents read them, admins write them.
    row("GET",   "/api/v1/campaigns",                              401,   401,   401,   OK,    OK,    OK,    403,
        check=has("results")),
    row("POST",  "/api/v1/campaigns",                              401,   401,   401,   403,   403,   OK,    403,
        body=CAMPAIGN, check=has("url_rule")),
    row("GET",   "/api/v1/campaigns/{campaign}",                   401,   401,   401,   OK,    OK,    OK,    403,
        check=is_object("campaign")),
    row("PATCH", "/api/v1/campaigns/{campaign}",                   401,   401,   401,   403,   403,   OK,    403,
        body={"enabled": True}, check=is_object("campaign", enabled=True)),
    row("DELETE", "/api/v1/campaigns/{campaign}",                  401,   401,   401,   403,   403,   OK,    403),
    # Reports: every agent reads them (docs/reports.md: "Agents read reports").
    row("GET",   "/api/v1/reports/summary",                        401,   401,   401,   OK,    OK,    OK,    403,
        check=has("conversations")),
    row("GET",   "/api/v1/reports/timeseries?metric=csat",         401,   401,   401,   OK,    OK,    OK,    403,
        check=has("points")),
    row("GET",   "/api/v1/reports/agents",                         401,   401,   401,   OK,    OK,    OK,    403,
        check=has("results")),
    row("POST",  "/api/v1/reports/exports",                        401,   401,   401,   OK,    OK,    OK,    403,
        body={}, check=has("status")),
    # Silent contract: an export is its owner's, not even an admin's (it holds their filters).
    row("GET",   "/api/v1/reports/exports",                        401,   401,   401,   OK,    OK,    OK,    403,
        check=listing("export_in")),
    row("GET",   EXPORT,                                           401,   401,   401,   OK,    404,   404,   403,
        check=is_object("export_in")),
    row("GET",   EXPORT + "/download",                             401,   401,   401,   OK,    404,   404,   403,
        check=csv_of_export),
    # The schema and the pages. Staff pages send everyone else to the admin's login.
    row("GET",   "/api/schema/",                                   OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/",                                              MOVED, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED),
    row("POST",  "/i18n/setlang/",                                 MOVED, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED,
        body={"language": "tr"}),
    row("GET",   "/widget/demo/",                                  OK,    OK,    OK,    OK,    OK,    OK,    OK),
    # The widget's loader, at the fixed address shops embed.
    row("GET",   "/static/helpdesk/widget.js",                     OK,    OK,    OK,    OK,    OK,    OK,    OK),
    # The emailed link is the credential: whoever holds it opens A's conversation.
    row("GET",   "/widget/resume/{resume_a}/",                     OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/widget/resume/forged-link/",                    400,   400,   400,   400,   400,   400,   400),
    # The help center's pages are public; /help/ sends each visitor to their language.
    row("GET",   "/help/",                                         MOVED, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED),
    row("GET",   "/help/sitemap.xml",                              OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/help/en/",                                      OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/help/en/search/?q=matrix",                      OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/help/en/categories/{category_slug}/",           OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   HELP_ARTICLE,                                     OK,    OK,    OK,    OK,    OK,    OK,    OK),
    row("GET",   "/help/en/articles/{draft_slug}/",                404,   404,   404,   404,   404,   404,   404),
    row("POST",  HELP_ARTICLE + "feedback",                        MOVED, MOVED, MOVED, MOVED, MOVED, MOVED, MOVED,
        body={"helpful": "yes"}),
    row("GET",   "/agent/",                                        LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    row("GET",   "/reports/",                                      LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    # The admin: Django's permission checks. Agents are staff without model permissions
    # (create_agent grants none): they reach the index and their own password, and get 403
    # on every model page. Logging out is harmless: whoever is not logged in is sent on.
    row("GET",   "/admin/login/",                                  OK,    OK,    OK,    MOVED, MOVED, MOVED, OK),
    row("POST",  "/admin/logout/",                                 MOVED, MOVED, MOVED, OK,    OK,    OK,    MOVED),
    row("GET",   "/admin/",                                        LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    row("GET",   "/admin/password_change/",                        LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    row("GET",   "/admin/password_change/done/",                   LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    row("GET",   "/admin/jsi18n/",                                 LOGIN, LOGIN, LOGIN, OK,    OK,    OK,    LOGIN),
    row("GET",   "/admin/autocomplete/" + AUTOCOMPLETE,            LOGIN, LOGIN, LOGIN, 403,   403,   OK,    LOGIN),
    # An app's index is 404 to staff without its permissions, like a page that does not exist.
    row("GET",   "/admin/conversations/",                          LOGIN, LOGIN, LOGIN, 404,   404,   OK,    LOGIN),
    row("GET",   "/admin/no-such-page/",                           LOGIN, LOGIN, LOGIN, 404,   404,   404,   LOGIN),
    # Conversations have no absolute URL: "view on site" has nowhere to go, even for an admin.
    row("GET",   "/admin/r/{ct_conversation}/{conv_a}/",           LOGIN, LOGIN, LOGIN, 404,   404,   404,   LOGIN),
    row("POST",  "/admin/conversations/conversation/{conv_a}/reply/",
                                                                   LOGIN, LOGIN, LOGIN, 403,   403,   MOVED, LOGIN,
        body={"body": "From the admin"}),
    row("GET",   "/admin/auth/user/{agent_in}/password/",          LOGIN, LOGIN, LOGIN, 403,   403,   OK,    LOGIN),
    # The article form's live preview renders for those who may see articles.
    row("POST",  "/admin/helpcenter/article/preview/",             LOGIN, LOGIN, LOGIN, 403,   403,   OK,    LOGIN,
        body={"body": "*preview*"}),
]
# fmt: on


def admin_model(model: str, obj: str, *, add: bool = True, delete: bool = True) -> list[Row]:
    """The six pages of a registered model; `add`/`delete`: whether even an admin may.
    The bare object URL only redirects to the change page, which decides."""
    base, may_add, may_delete = f"/admin/{model}/", OK if add else 403, OK if delete else 403
    # fmt: off
    return [
        #   method  path                          anon   A      B      in     out    admin       non-staff
        row("GET",  base,                         LOGIN, LOGIN, LOGIN, 403,   403,   OK,         LOGIN),
        row("GET",  base + "add/",                LOGIN, LOGIN, LOGIN, 403,   403,   may_add,    LOGIN),
        row("GET",  base + f"{{{obj}}}/change/",  LOGIN, LOGIN, LOGIN, 403,   403,   OK,         LOGIN),
        row("GET",  base + f"{{{obj}}}/history/", LOGIN, LOGIN, LOGIN, 403,   403,   OK,         LOGIN),
        row("GET",  base + f"{{{obj}}}/delete/",  LOGIN, LOGIN, LOGIN, 403,   403,   may_delete, LOGIN),
        row("GET",  base + f"{{{obj}}}/",         LOGIN, LOGIN, LOGIN, MOVED, MOVED, MOVED,      LOGIN),
    ]
    # fmt: on


ROWS += [
    # Conversations start from the widget, email or an import, and are never deleted;
    # customers are read-only; labels are added here, never deleted.
    *admin_model("conversations/conversation", "conv_a", add=False, delete=False),
    *admin_model("conversations/customer", "customer_a", add=False, delete=False),
    *admin_model("conversations/label", "label", delete=False),
    *admin_model("conversations/team", "team_x"),
    *admin_model("agents/agent", "agent_in"),
    *admin_model("agents/cannedresponse", "canned_x"),
    *admin_model("agents/macro", "macro_x"),
    *admin_model("auth/user", "agent_in"),
    *admin_model("auth/group", "group"),
    *admin_model("authtoken/tokenproxy", "agent_in"),
    *admin_model("helpcenter/article", "article"),
    *admin_model("helpcenter/category", "category"),
    *admin_model("campaigns/campaign", "campaign"),
    # Votes come from readers only.
    *admin_model("helpcenter/articlefeedback", "feedback", add=False),
    *admin_model("conversations/inbox", "inbox_tg"),
    # The delivery log is written by deliveries only.
    *admin_model("inboxes/deliveryattempt", "attempt", add=False),
]


# --- The world every cell starts from --------------------------------------------------------


def make_agent(email: str, teams: list[Team], **user_fields: Any) -> Any:
    """Capacity 0 and offline: routing assigns nothing, so visibility is by team alone."""
    user = get_user_model().objects.create_user(
        username=email, email=email, password="pw", is_staff=True, **user_fields
    )
    Agent.objects.create(user=user, capacity=0)
    user.teams.set(teams)
    return user


def build_world() -> SimpleNamespace:
    support = Team.objects.create(name="Support", is_default=True)
    billing = Team.objects.create(name="Billing")
    agent_in = make_agent("in@example.com", [support])
    agent_out = make_agent("out@example.com", [billing])
    admin = make_agent("admin@example.com", [], is_superuser=True)
    non_staff = get_user_model().objects.create_user(username="shopper", password="pw")
    customer_a = customer_create(name="Ayşe A", email="a@example.com")
    customer_b = customer_create(name="Burak B", email="b@example.com")
    conv_a = start(customer_a, support)
    note, _ = message_post(
        conversation=conv_a,
        author=Author.of_agent(agent_in),
        body="Inside only",
        client_id="matrix-note",
        private=True,
    )
    export = export_create(
        owner=agent_in,
        since=conv_a.created_at - timedelta(days=1),
        until=conv_a.created_at,
        tz=ZoneInfo("UTC"),
        slice_=Slice(),
        interval="day",
        language="en",
    )
    ReportExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, content="export-in-csv\n"
    )
    objects = {
        "team_x": support,
        "agent_in": agent_in,
        "customer_a": customer_a,
        "conv_a": conv_a,
        "conv_b": start(customer_b, billing),
        "canned_x": canned_response_create(
            shortcut="hello", body="Hello {{customer.name}}", team=support
        ),
        "canned_shared": canned_response_create(shortcut="bye", body="Bye"),
        "macro_x": Macro.objects.create(name="Matrix macro", team=support, priority="high"),
        "macro_in": Macro.objects.create(name="In's own", owner=agent_in, priority="high"),
        "macro_global": Macro.objects.create(name="Everyone's", priority="high"),
        "export_in": export,
        "label": Label.objects.create(name="vip"),
        "visitor": customer_create(name="Vera Visitor"),
        "note_in": customer_note_create(customer=customer_a, author=agent_in, body="Kind"),
        "group": Group.objects.create(name="Leads"),
        "view_in": SavedView.objects.create(
            name="Mine", owner=agent_in, filters={"assignee": "me"}
        ),
        "view_team": SavedView.objects.create(
            name="Open", team=support, filters={"status": "open"}
        ),
        "campaign": Campaign.objects.create(message="Need help?", team=support, url_value="/"),
        **help_center(),
        **channels(note),
    }
    ids = {name: obj.pk for name, obj in objects.items()}
    ids["ct_conversation"] = ContentType.objects.get_for_model(conv_a).pk
    ids["note_msg"] = note.pk
    ids["resume_a"] = resume_token(customer_a.pk, conv_a.pk)
    shown = conv_a.created_at - timedelta(minutes=1)  # suggestions just before conv_a started
    ids["suggestions"] = SuggestionSession.objects.create(articles=1, shown_at=shown).key
    ids |= {
        "article_slug": objects["article"].slug,
        "draft_slug": objects["draft"].slug,
        "category_slug": objects["category"].slug,
    }
    users = {"agent_in": agent_in, "agent_out": agent_out, "admin": admin, "non_staff": non_staff}
    ids |= file_links(conv_a, note, users)
    keys = {role: Token.objects.create(user=user).key for role, user in users.items()}
    return SimpleNamespace(
        **{**objects, **users}, ids=ids, keys=keys, note=note, customer_b=customer_b
    )


def file_links(conv_a: Any, note: Any, users: dict[str, Any]) -> dict[str, str]:
    """A file of customer A's and one of the private note, with links signed for readers."""
    shared, _ = message_post(
        conversation=conv_a,
        author=Author.customer(),
        body="",
        client_id="matrix-file",
        files=[ContentFile(b"%PDF-1.4\n%%EOF\n", name="order.pdf")],
    )
    secret = attachment_store(message=note, name="inside.pdf")
    file_a = shared.attachments.get().pk
    signed = {
        "file_for_a": links.sign(file_a, links.customer_reader(conv_a.customer_id)),
        "file_for_in": links.sign(file_a, links.user_reader(users["agent_in"].pk)),
        "file_for_admin": links.sign(file_a, links.user_reader(users["admin"].pk)),
        "file_for_out": links.sign(file_a, links.user_reader(users["agent_out"].pk)),
        "note_file_for_a": links.sign(secret.pk, links.customer_reader(conv_a.customer_id)),
    }
    return {name: path.rpartition("/")[2] for name, path in signed.items()}  # the token alone


def attachment_store(*, message: Any, name: str) -> Any:
    checked = check_file(ContentFile(b"%PDF-1.4\n%%EOF\n", name=name))
    (attachment,) = attachments_store(message=message, files=[checked])
    return attachment


def help_center() -> dict[str, Any]:
    """A category with a published article (voted on once) and a draft."""
    category = Category.objects.create(name="Matrix topic", slug="matrix-topic", language="en")
    article = article_save(
        article=Article(), title="Matrix article", body="matrix", language="en", published=True
    )
    article.category = category
    article.save()
    draft = article_save(article=Article(), title="Matrix draft", body="matrix", language="en")
    feedback = ArticleFeedback.objects.create(article=article, helpful=True, source="page")
    return {"category": category, "article": article, "draft": draft, "feedback": feedback}


def channels(note: Any) -> dict[str, Any]:
    """A Telegram inbox, an api inbox, and a delivery attempt logged (on the note: any
    message will do for the admin's pages)."""
    telegram, _secret = inbox_create(
        channel="telegram",
        name="Matrix bot",
        channel_settings={"bot_token": "1:A", "secret_token": "matrix-secret"},
    )
    api, _secret = inbox_create(
        channel="api", name="Matrix CRM", webhook_url="https://93.184.215.14/hook"
    )
    attempt = DeliveryAttempt.objects.create(message=note, number=1, ok=False, status_code=500)
    return {"inbox_tg": telegram, "inbox_api": api, "attempt": attempt}


def start(customer: Any, team: Team) -> Any:
    conversation, _ = conversation_start(
        customer=customer, body="Hello, I need help", client_id=f"start-{customer.pk}", team=team
    )
    return conversation


@pytest.fixture(scope="class")
def shared_world(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Built once, in a transaction rolled back after TestHttpMatrix (the socket tests need
    a database of their own, committed). Each cell's
    own transaction (`db`) nests in it as a savepoint, so every cell starts from this world
    and none sees another's writes; building it per cell tripled the run time."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(shared_world: SimpleNamespace, db: Any, settings: Any) -> SimpleNamespace:
    settings.HELPDESK_INBOUND_SECRET = "known-to-the-mail-provider-only"
    return shared_world


def client_for(world: SimpleNamespace, role: str, *, api: bool) -> APIClient:
    """A customer holds a Bearer token; a user a `Token` key for the API, a session for pages."""
    client = APIClient()
    if role in CUSTOMERS:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {getattr(world, role).token}")
    elif role != "anonymous" and api:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.keys[role]}")
    elif role != "anonymous":
        client.force_login(getattr(world, role))
    return client


def assert_error_shape(response: Any) -> None:
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    assert set(error) <= {"code", "message", "fields"}, error


def assert_cell(response: Any, expected: Expect, *, api: bool) -> None:
    status, location = response.status_code, response.get("Location", "")
    if expected == OK:
        assert 200 <= status < 300, status
    elif expected == LOGIN:
        assert status == 302 and location.startswith("/admin/login/"), (status, location)
    elif expected == MOVED:
        assert 300 <= status < 400 and not location.startswith("/admin/login/"), (status, location)
    else:
        assert status == expected, status
        if api:
            assert_error_shape(response)


CELLS = [
    pytest.param(r, role, expected, id=f"{r.id} × {role}")
    for r in ROWS
    for role, expected in zip(ROLES, r.expect, strict=True)
]


class TestHttpMatrix:
    """The HTTP table: one test per cell, in a savepoint of the shared world."""

    @pytest.mark.parametrize(("r", "role", "expected"), CELLS)
    def test_cell(self, world: SimpleNamespace, r: Row, role: str, expected: Expect) -> None:
        if r.prepare:
            r.prepare(world)
        api = r.path.startswith("/api/")
        client = client_for(world, role, api=api)
        path = r.path.format(**world.ids)
        send = getattr(client, r.method.lower())
        body = r.body(world) if callable(r.body) else r.body  # one that names the world's ids
        response = (
            send(path, body, format="json" if api else None) if body is not None else send(path)
        )
        assert_cell(response, expected, api=api)
        if expected == OK and r.check:
            data = (
                response.json()
                if "json" in response.get("Content-Type", "")
                else response.content.decode()
            )
            r.check(world, role, data)


# --- Every endpoint has a row ------------------------------------------------------------------

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def resolver_routes(patterns: list[Any] | None = None, prefix: str = "") -> dict[str, Any]:
    """Every route of the URL resolver (as ResolverMatch.route spells it) and its view."""
    routes: dict[str, Any] = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern).replace("^", "")
        if isinstance(pattern, URLResolver):
            routes.update(resolver_routes(pattern.url_patterns, route))
        elif isinstance(pattern, URLPattern):
            routes[route] = pattern.callback
    return routes


def declared_methods(view: Any) -> set[str] | None:
    """The methods an API view answers; None for Django views, which do not declare them."""
    cls = getattr(view, "cls", None)
    if cls is None or not issubclass(cls, APIView):
        return None
    return {method.upper() for method in HTTP_METHODS if hasattr(cls, method)}


def route_of(path: str) -> str:
    concrete = re.sub(r"\{\w+\}", "1", path.split("?")[0])
    return resolve(concrete).route.replace("^", "")


def rows_by_route() -> dict[str, set[str]]:
    covered: dict[str, set[str]] = {}
    for r in ROWS:
        covered.setdefault(route_of(r.path), set()).add(r.method)
    return covered


def test_every_endpoint_of_the_url_resolver_has_a_row() -> None:
    covered = rows_by_route()
    missing = []
    for route, view in resolver_routes().items():
        needed = declared_methods(view) or {"any method"}
        have = covered.get(route, set())
        missing += [f"{m} /{route}" for m in sorted(needed - have) if m != "any method" or not have]
    assert not missing, (
        "These endpoints have no row in the authorization matrix "
        "(tests/test_authorization_matrix.py, ROWS): add one saying what every role gets:\n"
        + "\n".join(missing)
    )


def test_every_operation_of_the_openapi_schema_has_a_row() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    covered = {
        (re.sub(r"<[^>]+>", "{}", "/" + route), method)
        for route, methods in rows_by_route().items()
        for method in methods
    }
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in HTTP_METHODS
        and (re.sub(r"\{\w+\}", "{}", path), method.upper()) not in covered
    ]
    assert not missing, (
        "These operations of the OpenAPI schema have no row in the authorization matrix "
        "(tests/test_authorization_matrix.py, ROWS): add one saying what every role gets:\n"
        + "\n".join(missing)
    )


# --- The websockets ----------------------------------------------------------------------------
# Each role opens the socket with what it holds: a customer its widget token, a user its API
# token key (the anonymous caller nothing). "own socket" is the customer socket for customers,
# the agent socket for users. A cell of None is no test: that role has no socket to try.

OPEN, REFUSED = "open", "refused"  # an accepted socket; a handshake refused (the Origin)
SUBSCRIBED = "subscribed"
EVIL = [(b"origin", b"https://evil.example")]
HEARS = {name: frozenset(SEES[name] & {"conv_a", "conv_b"}) for name in SEES}

# fmt: off
WS_ROWS = [
    #   probe                        anon     A              B              in          out          admin       non-staff
    ("connect customer socket",      4401,    OPEN,          OPEN,          4401,       4401,        4401,       4401),
    ("connect agent socket",         4401,    4401,          4401,          OPEN,       OPEN,        OPEN,       4401),
    ("connect reports socket",       4401,    4401,          4401,          OPEN,       OPEN,        OPEN,       4401),
    ("own socket, foreign Origin",   REFUSED, REFUSED,       REFUSED,       REFUSED,    REFUSED,     REFUSED,    REFUSED),
    # Replay from cursor 0, then live messages: the conversations whose events arrive.
    ("hears conversations",          None,    HEARS["customer_a"], HEARS["customer_b"], HEARS["agent_in"],
                                                                                       HEARS["agent_out"], HEARS["admin"], None),
    # Typing reaches the other side, or answers an `error` event (code not_found).
    ("types in conv_a",              None,    OK,            "not_found",   OK,         "not_found", OK,         None),
    # Following a conversation's typing is for agents; a customer's socket does not know it.
    ("subscribes to conv_a",         None,    "bad_request", "bad_request", SUBSCRIBED, "not_found", SUBSCRIBED, None),
]
# fmt: on

WS_CELLS = [
    pytest.param(probe, role, expected, id=f"{probe} × {role}")
    for probe, *expectations in WS_ROWS
    for role, expected in zip(ROLES, expectations, strict=True)
    if expected is not None
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ws_path(world: SimpleNamespace, role: str, socket_path: str) -> str:
    if role in CUSTOMERS:
        return f"{socket_path}?token={getattr(world, role).token}"
    if role == "anonymous":
        return socket_path
    return f"{socket_path}?token={world.keys[role]}"


def own_path(world: SimpleNamespace, role: str) -> str:
    return ws_path(world, role, "/ws/customer/" if role in CUSTOMERS else "/ws/agent/")


async def connects(path: str) -> Expect:
    """OPEN, or the close code of a socket accepted only to be closed."""
    async with socket(path) as ws:
        await ws.send_json_to({"type": "ping"})
        output = await ws.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output.get("code")
        assert json.loads(output["text"])["type"] in ("pong", "presence"), output
        return OPEN


async def refused(path: str) -> Expect:
    communicator = WebsocketCommunicator(application, path, headers=EVIL)
    connected, _ = await communicator.connect(timeout=5)
    return REFUSED if not connected else OPEN


async def hears(world: SimpleNamespace, role: str) -> Expect:
    """Replay everything, then post in the hidden conversation before the visible one: a
    socket sends in cursor order, so a leak would arrive before the last visible message."""
    expected = HEARS[role]
    async with socket(own_path(world, role)) as ws:
        events, _ = await resume(ws, 0)
        names = sorted({"conv_a", "conv_b"} - expected) + sorted(expected)
        for name in names:
            await database_sync_to_async(post)(getattr(world, name), f"live in {name}")
        while f"live in {names[-1]}" not in bodies(events):
            events.append(await receive(ws))
    if role in CUSTOMERS:
        assert "Inside only" not in bodies(events), "a private note reached a customer"
    by_id = {world.ids["conv_a"]: "conv_a", world.ids["conv_b"]: "conv_b"}
    return frozenset(by_id[e["conversation"]] for e in events if e["conversation"] in by_id)


async def types(world: SimpleNamespace, role: str) -> Expect:
    """OK once the other side (customer A; for A, the agent in the team) hears it."""
    observer = "agent_in" if role == "customer_a" else "customer_a"
    conversation = world.ids["conv_a"]
    async with socket(own_path(world, observer)) as other, socket(own_path(world, role)) as ws:
        await ws.send_json_to({"type": "typing", "conversation": conversation, "is_typing": True})
        await ws.send_json_to({"type": "ping"})
        answer = await receive(ws)
        if answer["type"] == "error":
            await assert_silent(other, 0.3)
            return answer["code"]
        assert answer == {"type": "pong"}, answer
        typing = await receive(other)
        assert typing["type"] == "typing" and typing["conversation"] == conversation, typing
        return OK


async def subscribes(world: SimpleNamespace, role: str) -> Expect:
    async with socket(own_path(world, role)) as ws:
        await ws.send_json_to({"type": "subscribe", "conversation": world.ids["conv_a"]})
        answer = await receive(ws)
        return answer["code"] if answer["type"] == "error" else answer["type"]


async def probe_socket(world: SimpleNamespace, probe: str, role: str) -> Expect:
    if probe.startswith("connect"):
        kind = probe.split()[1]
        path = ws_path(world, role, "/ws/customer/" if kind == "customer" else "/ws/agent/")
        return await connects(
            path + ("&" if "?" in path else "?") + "watch=reports" if kind == "reports" else path
        )
    if probe == "own socket, foreign Origin":
        return await refused(own_path(world, role))
    return await {
        "hears conversations": hears,
        "types in conv_a": types,
        "subscribes to conv_a": subscribes,
    }[probe](world, role)


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("probe", "role", "expected"), WS_CELLS)
async def test_socket_cell(probe: str, role: str, expected: Expect) -> None:
    world = await database_sync_to_async(build_world)()
    assert await probe_socket(world, probe, role) == expected


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("socket_path", ["/ws/customer/", "/ws/agent/", "/ws/agent/?watch=reports"])
@pytest.mark.parametrize("token", ["", "forged", "x" * 500])
async def test_a_socket_with_a_bad_token_closes_with_4401(socket_path: str, token: str) -> None:
    path = socket_path + ("&" if "?" in socket_path else "?") + f"token={token}"
    assert await connects(path) == 4401
