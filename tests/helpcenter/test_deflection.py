"""Suggestion sessions and `self_service.deflected` (docs/reports.md "Self-service"): the
widget records the suggestions it showed before a first message and the conversation that
followed; a session followed by none within 30 minutes counts as deflected when its window
closes, the same after rebuild_reports."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from conversations.models import Customer
from conversations.services import conversation_start
from helpcenter.models import DEFLECTION_WINDOW, SuggestionSession
from helpcenter.services import suggestions_followed_by, suggestions_shown
from reports.selectors import Slice, summary

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def deflected(since: datetime, until: datetime) -> int:
    return summary(since, until, Slice())["self_service"]["deflected"]


def test_deflected_counts_sessions_no_conversation_followed_when_their_window_closes(
    make_customer,
):
    customer = make_customer()
    followed = suggestions_shown(articles=3, customer=None, at=at(0))
    conversation, _ = conversation_start(customer=customer, body="hi", client_id="c", at=at(10))
    suggestions_followed_by(session=followed, conversation=conversation, customer=customer)
    suggestions_shown(articles=2, customer=None, at=at(5))  # closes at 35
    suggestions_shown(articles=1, customer=customer, at=at(40))  # closes at 70
    assert deflected(at(0), at(60)) == 1
    assert deflected(at(0), at(35)) == 0  # a period ends before its end
    assert deflected(at(35), at(71)) == 2
    assert deflected(at(-60), at(30)) == 0  # nothing closed yet
    # A window that has not closed yet counts nowhere, whatever the period says.
    recent = suggestions_shown(articles=1, customer=None)
    future = recent.shown_at + timedelta(hours=2)
    assert deflected(recent.shown_at, future) == 0


def test_a_conversation_after_the_window_or_a_second_one_does_not_follow(make_customer):
    from conversations.errors import NotAllowed

    customer = make_customer()
    session = suggestions_shown(articles=3, customer=None, at=at(0))
    late, _ = conversation_start(customer=customer, body="hi", client_id="late", at=at(31))
    with pytest.raises(NotAllowed):
        suggestions_followed_by(session=session, conversation=late, customer=customer)
    soon, _ = conversation_start(customer=customer, body="hi", client_id="soon", at=at(29))
    suggestions_followed_by(session=session, conversation=soon, customer=customer)
    suggestions_followed_by(session=session, conversation=soon, customer=customer)  # again: same
    other, _ = conversation_start(customer=customer, body="hi", client_id="other", at=at(20))
    with pytest.raises(NotAllowed):
        suggestions_followed_by(session=session, conversation=other, customer=customer)
    session.refresh_from_db()
    assert (session.conversation, session.converted_at) == (soon, at(29))


def test_the_widget_records_a_session_and_the_conversation_that_followed():
    anonymous = APIClient()
    shown = anonymous.post("/api/v1/widget/suggestions", {"articles": [1, 2, 2]}, format="json")
    assert shown.status_code == 201, shown.content
    key = shown.json()["key"]
    assert shown.json()["conversation"] is None
    assert SuggestionSession.objects.get(key=key).articles == 2
    # The first message creates the session and the conversation; the widget then says so.
    session = APIClient().post("/api/v1/widget/sessions", {}, format="json").json()
    widget = APIClient()
    widget.credentials(HTTP_AUTHORIZATION=f"Bearer {session['customer_token']}")
    started = widget.post(
        "/api/v1/widget/conversations", {"body": "hi", "client_id": "c1"}, format="json"
    ).json()
    url = f"/api/v1/widget/suggestions/{key}/conversation"
    answer = widget.post(url, {"conversation": started["id"]}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["conversation"] == started["id"]
    record = SuggestionSession.objects.get(key=key)
    assert record.customer == Customer.objects.get(pk=session["customer"]["id"])


def test_bad_calls_get_the_error_shape(start_conversation, make_customer):
    anonymous = APIClient()
    for body in ({}, {"articles": []}, {"articles": ["1"]}, {"articles": list(range(1, 12))}):
        response = anonymous.post("/api/v1/widget/suggestions", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid"
    key = anonymous.post("/api/v1/widget/suggestions", {"articles": [1]}, format="json").json()
    url = f"/api/v1/widget/suggestions/{key['key']}/conversation"
    assert anonymous.post(url, {"conversation": 1}, format="json").status_code == 401
    someone_else = start_conversation()
    customer = make_customer()
    widget = APIClient()
    widget.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
    # Another's conversation, or an unknown key: 404.
    assert widget.post(url, {"conversation": someone_else.pk}, format="json").status_code == 404
    wrong = "/api/v1/widget/suggestions/nope/conversation"
    assert widget.post(wrong, {"conversation": someone_else.pk}, format="json").status_code == 404


def test_rebuild_reports_gives_the_same_deflected(make_customer):
    suggestions_shown(articles=3, customer=None, at=at(0))
    suggestions_shown(articles=3, customer=None, at=at(1))
    before = deflected(at(0), at(120))
    call_command("rebuild_reports", stdout=open("/dev/null", "w"))
    assert deflected(at(0), at(120)) == before == 2
    assert DEFLECTION_WINDOW == timedelta(minutes=30)  # docs/reports.md says so
