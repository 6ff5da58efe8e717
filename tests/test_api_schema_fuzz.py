"""Schemathesis over every operation of /api/schema/: the schema tells the truth.

Every operation gets requests built from its schema (the coverage phase's boundary values
and a bounded fuzzing phase, valid and invalid), with the credentials its `security` names
(an admin agent's token, a widget customer's token, the mail provider's secret), and every
check Schemathesis has: no 5xx, only documented status codes and content types, answers that
match their schema, invalid input refused and valid input accepted. A failure is listed with
the request that reproduces it. The seed is fixed and generation deterministic, so CI sends
the same requests on every run; docs/api.md says how to fuzz at full strength by hand.

The requests go through Django's WSGI handler in this process, inside the test's transaction
(real PostgreSQL and Redis), so whatever a request creates is rolled back with the test.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.django_db

AGENT_TOKEN = "f" * 40  # a DRF token key is 40 characters
CUSTOMER_TOKEN = "fuzz-customer-token"
INBOUND_SECRET = "fuzz-inbound-secret"
EXAMPLES = 12  # per operation and phase: the whole run stays near a minute on two slow cores

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260412,
        "generation": {"max-examples": EXAMPLES, "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
        # In its place: check_valid_data_accepted below.
        "checks": {"positive_data_acceptance": {"enabled": False}},
        "auth": {
            "openapi": {
                "tokenAuth": {"api_key": f"Token {AGENT_TOKEN}"},
                "customerToken": {"bearer": CUSTOMER_TOKEN},
                "inboundSecret": {"bearer": INBOUND_SECRET},
                # No inbox has it: the api channel's messages answer 404 or 401.
                "inboxSecret": {"bearer": "fuzz-inbox-secret"},
            }
        },
    }
)

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=CONFIG
).exclude(path="/api/schema/")


@pytest.fixture
def fuzz_world(support, make_agent, make_customer, start_conversation) -> Iterator[Any]:
    """The callers the schema's security schemes name, and a conversation of the customer's."""
    from rest_framework.authtoken.models import Token

    from conversations.models import Customer

    admin = make_agent(teams=[support], is_superuser=True)
    Token.objects.create(user=admin, key=AGENT_TOKEN)
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(token=CUSTOMER_TOKEN)
    start_conversation(customer=customer, team=support)
    # As Django's test client does: closing "old" connections after each request would close
    # the one that holds this test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with override_settings(HELPDESK_INBOUND_SECRET=INBOUND_SECRET):
        yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Fields whose validity no schema can state: they must name something that exists, or agree
# with another field. A schema-valid request refused (400) for these alone is the API's
# answer to data, not a lie of the schema; refused for anything else, it fails the test.
DEPENDS_ON_DATA = {
    "team": "a team by that id or name",
    "agent": "an agent by that id or email",
    "inbox": "an inbox by that id",
    "assignee": "an agent by that id or email",
    "tz": "a time zone this server knows",
    "since": "before until",
    "interval": "at most 5,000 points over the period",
    "from": "an address that parses as one (RFC 5322)",
    "text": "an email with some text, or some html",
    "shortcut": "a canned response shortcut not taken yet",
    "move_to_team": "a team by that id or name",
    "assign_to": "an agent by that id or email, given with assign “agent” and only then",
    "snooze_minutes": "given with the status “snoozed” and only then",
    "category": "a help center category by that id, in the article's language",
    "translation_of": "an article by that id, in the other language, without that translation",
    "slug": "an article slug not taken in that language",
    "campaign": "an enabled campaign by that id",
    "sender": "an agent by that id or email, in the campaign's team",
    "active_until": "given with active_from, or both left out",
    "url_rule": "a regular expression that compiles (kind regex)",
    # OpenAPI 3.0 cannot restrict an object's property names (the schema says it in
    # propertyNames, which 3.0 generators ignore): a custom attribute's name.
    "attributes": "attribute names of letters, digits, _ . - (at most 40)",
    # An inbox: the settings its channel needs (docs/channels.md), URLs the helpdesk may call.
    "webhook_url": "the api channel's only, a host that resolves to a public address",
    "api_base_url": "a host that resolves to a public address",
    **dict.fromkeys(
        (
            "phone_number_id",
            "page_id",
            "access_token",
            "app_secret",
            "verify_token",
            "bot_token",
            "secret_token",
        ),
        "required by the inbox's channel",
    ),
    # A file's type is told from its bytes (docs/attachments.md): 415 unsupported_type, or
    # 413 too_large beyond HELPDESK_ATTACHMENT_MAX_BYTES; an empty file is refused (400).
    "files": "files of a type the helpdesk takes, not empty, within the size limit",
}
# Besides 400, what a refusal for data alone may answer (with `fields` as above).
REFUSED_FOR_DATA = {400, 413, 415}
ACCEPTS = {"2xx", "3xx", "401", "403", "404", "409", "429"}


def refused_for_data_only(case: schemathesis.Case, response: Any) -> bool:
    if response.status_code not in REFUSED_FOR_DATA:
        return False
    fields = response.json().get("error", {}).get("fields") or {}
    return bool(fields) and set(fields) <= set(DEPENDS_ON_DATA)


def check_valid_data_accepted(case: schemathesis.Case, response: Any) -> None:
    """Schemathesis's positive_data_acceptance, less DEPENDS_ON_DATA."""
    if not case.meta or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if str(status) in ACCEPTS or f"{status // 100}xx" in ACCEPTS:
        return
    assert refused_for_data_only(case, response), (
        f"A schema-valid request was refused ({status}): {response.text[:500]}\n"
        f"Reproduce with: {case.as_curl_command()}"
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    # The world is made once per operation: examples add to it, as requests do to a server.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_to_its_schema(case: schemathesis.Case, fuzz_world: Any) -> None:
    """Every check Schemathesis has, on every operation, with the credentials it names."""
    response = case.call()
    case.validate_response(response)
    check_valid_data_accepted(case, response)
