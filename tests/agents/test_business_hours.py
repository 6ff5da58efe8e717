"""Team business hours: open or closed across time zones and DST, the next opening, the
out-of-hours auto-reply (once per closed spell, in the customer's language, never a reply in
the metrics, never emailed) and the availability the widget reads."""

from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from agents.models import BusinessHours, Presence
from agents.selectors import next_opening, team_open_at
from agents.services import auto_reply_when_closed
from conversations.events import event_published, publish_pending_events
from conversations.history.replay import import_lines
from conversations.models import AuthorKind, Conversation, Message
from conversations.services import Author, conversation_start, message_post
from reports.selectors import Slice, summary
from reports.services import process_new_events

pytestmark = pytest.mark.django_db

ISTANBUL = "Europe/Istanbul"  # UTC+3 all year
BERLIN = "Europe/Berlin"  # DST from 2026-03-29 02:00 (UTC+1 → UTC+2)
WEEKDAYS = range(5)


def utc(year_month_day: tuple[int, int, int], hour: int, minute: int = 0) -> datetime:
    return datetime(*year_month_day, hour, minute, tzinfo=UTC)


def hours(team, *intervals: tuple[int, str, str]) -> None:
    for weekday, opens, closes in intervals:
        BusinessHours.objects.create(
            team=team,
            weekday=weekday,
            opens=time.fromisoformat(opens),
            closes=time.fromisoformat(closes),
        )


def office_hours(team, opens: str = "09:00", closes: str = "17:00", days=WEEKDAYS) -> None:
    hours(team, *((day, opens, closes) for day in days))


@pytest.fixture
def istanbul(make_team):
    team = make_team(name="Destek", time_zone=ISTANBUL)
    office_hours(team)
    return team


# --- Open or closed ----------------------------------------------------------------------------


def test_a_team_without_hours_is_always_open(make_team):
    team = make_team()
    assert team.time_zone == "UTC", "the default is settings.TIME_ZONE"
    assert team_open_at(team, utc((2026, 3, 7), 3)) is True
    assert next_opening(team, utc((2026, 3, 7), 3)) is None


def test_open_and_closed_in_the_teams_time_zone(istanbul, make_team):
    # Monday 09:00–17:00 in Istanbul is 06:00–14:00 UTC; the closing minute is closed
    assert not team_open_at(istanbul, utc((2026, 3, 2), 5, 59))
    assert team_open_at(istanbul, utc((2026, 3, 2), 6, 0))
    assert team_open_at(istanbul, utc((2026, 3, 2), 13, 59))
    assert not team_open_at(istanbul, utc((2026, 3, 2), 14, 0))
    assert not team_open_at(istanbul, utc((2026, 3, 7), 10)), "Saturday"
    new_york = make_team(time_zone="America/New_York")  # UTC-5 in early March
    office_hours(new_york)
    assert not team_open_at(new_york, utc((2026, 3, 2), 13, 59))
    assert team_open_at(new_york, utc((2026, 3, 2), 14, 0))


def test_dst_moves_the_opening_in_utc(make_team):
    team = make_team(time_zone=BERLIN)
    office_hours(team, days=range(7))
    saturday, sunday = (2026, 3, 28), (2026, 3, 29)  # the clocks go forward on Sunday night
    assert not team_open_at(team, utc(saturday, 7, 30)), "08:30 CET"
    assert team_open_at(team, utc(sunday, 7, 30)), "09:30 CEST"
    # closing on Saturday at 17:00 CET (16:00 UTC), opening on Sunday at 09:00 CEST (07:00 UTC)
    assert next_opening(team, utc(saturday, 16)) == utc(sunday, 7)
    # and back in October: Sunday 25 October 09:00 CET is 08:00 UTC
    assert next_opening(team, utc((2026, 10, 24), 20)) == utc((2026, 10, 25), 8)


def test_overnight_intervals_run_past_midnight(make_team):
    team = make_team(time_zone=ISTANBUL)
    hours(team, (4, "22:00", "06:00"), (5, "20:00", "00:00"))  # Friday night; Saturday evening
    friday, saturday = (2026, 3, 6), (2026, 3, 7)
    assert not team_open_at(team, utc(friday, 18, 59)), "Friday 21:59"
    assert team_open_at(team, utc(friday, 19)), "Friday 22:00"
    assert team_open_at(team, utc(saturday, 2, 59)), "Saturday 05:59"
    assert not team_open_at(team, utc(saturday, 3)), "Saturday 06:00"
    assert team_open_at(team, utc(saturday, 20, 59)), "Saturday 23:59: open until midnight"
    assert not team_open_at(team, utc(saturday, 21)), "Sunday 00:00"
    assert next_opening(team, utc(saturday, 3)) == utc(saturday, 17)


def test_several_intervals_a_day_and_the_next_opening(istanbul, make_team):
    team = make_team(time_zone=ISTANBUL)
    hours(team, (0, "09:00", "12:00"), (0, "13:00", "17:00"))
    lunch = utc((2026, 3, 2), 9, 30)  # 12:30
    assert not team_open_at(team, lunch)
    assert next_opening(team, lunch) == utc((2026, 3, 2), 10)
    assert next_opening(team, utc((2026, 3, 2), 7)) == utc((2026, 3, 2), 7), "open: now"
    # Friday evening → Monday morning for the Monday–Friday team
    assert next_opening(istanbul, utc((2026, 3, 6), 15)) == utc((2026, 3, 9), 6)
    # Only Monday hours: from Monday evening it is a week away
    assert next_opening(team, utc((2026, 3, 2), 15)) == utc((2026, 3, 9), 6)


def test_time_zone_and_intervals_are_validated(make_team):
    team = make_team()
    team.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as error:
        team.full_clean()
    assert "time_zone" in error.value.message_dict
    team.time_zone = ISTANBUL
    team.full_clean()
    empty = BusinessHours(team=team, weekday=0, opens=time(9), closes=time(9))
    with pytest.raises(ValidationError):
        empty.full_clean()
    with pytest.raises(IntegrityError):
        empty.save()


# --- The auto-reply ----------------------------------------------------------------------------


def start(make_customer, team, at: datetime, *, language: str = "", email: str | None = None):
    customer = make_customer(email=email)
    customer.language = language
    customer.save(update_fields=["language"])
    conversation, _ = conversation_start(
        customer=customer, body="Merhaba", client_id=f"start-{at.isoformat()}", team=team, at=at
    )
    publish_pending_events()  # the receivers react, as after a live commit
    return conversation


@contextmanager
def muted_receivers():
    """Events published without the auto-reply receiver (to drive it by hand)."""
    from agents.receivers import auto_reply_on_customer_message

    event_published.disconnect(dispatch_uid="agents.business_hours.auto_reply")
    try:
        yield
    finally:
        event_published.connect(
            auto_reply_on_customer_message, dispatch_uid="agents.business_hours.auto_reply"
        )


def customer_says(conversation, at: datetime, body: str = "Hello?") -> Message:
    message, _ = message_post(
        conversation=conversation,
        author=Author.customer(),
        body=body,
        client_id=f"c-{at.isoformat()}",
        at=at,
    )
    publish_pending_events()
    return message


def agent_says(conversation, agent, at: datetime) -> None:
    message_post(
        conversation=conversation,
        author=Author.of_agent(agent),
        body="Here we are",
        client_id=f"a-{at.isoformat()}",
        at=at,
    )
    publish_pending_events()


def auto_replies(conversation) -> list[Message]:
    return list(conversation.messages.filter(author_kind=AuthorKind.SYSTEM).order_by("id"))


SATURDAY_NOON = utc((2026, 3, 7), 9)  # 12:00 in Istanbul


def test_a_customer_writing_while_closed_is_told_when_the_team_is_back(istanbul, make_customer):
    conversation = start(make_customer, istanbul, SATURDAY_NOON)
    [reply] = auto_replies(conversation)
    assert reply.body == (
        "Thanks for your message. Our team is away right now and will be back on Monday at "
        "09:00 (Europe/Istanbul). We will reply here and by email."
    )
    assert reply.author_kind == AuthorKind.SYSTEM and not reply.private
    assert reply.created_at == SATURDAY_NOON
    conversation.refresh_from_db()
    assert conversation.waiting_since == SATURDAY_NOON, "still waiting for a human"
    assert conversation.last_message_preview == "Merhaba", "triage shows what they wrote"
    assert conversation.status == "open"
    publish_pending_events()
    assert mail.outbox == [], "an auto-reply is not emailed to an offline customer"


def test_the_auto_reply_speaks_the_customers_language(istanbul, make_customer):
    conversation = start(make_customer, istanbul, SATURDAY_NOON, language="tr")
    [reply] = auto_replies(conversation)
    assert "Pazartesi" in reply.body and "09:00" in reply.body, reply.body
    assert "Monday" not in reply.body


def test_early_in_the_morning_the_team_is_back_today(istanbul, make_customer):
    conversation = start(make_customer, istanbul, utc((2026, 3, 2), 4))  # Monday 07:00
    [reply] = auto_replies(conversation)
    assert "back today at 09:00 (Europe/Istanbul)" in reply.body


def test_a_customer_without_email_is_not_promised_one(istanbul, make_customer):
    customer = make_customer()
    customer.email = ""
    customer.save(update_fields=["email"])
    conversation, _ = conversation_start(
        customer=customer, body="hi", client_id="no-email", team=istanbul, at=SATURDAY_NOON
    )
    publish_pending_events()
    [reply] = auto_replies(conversation)
    assert reply.body.endswith("We will reply here.")


def test_one_auto_reply_per_closed_spell(istanbul, make_customer, make_agent):
    agent = make_agent(teams=[istanbul])
    conversation = start(make_customer, istanbul, SATURDAY_NOON)
    for minute in (1, 2, 30):  # a burst, then more later the same weekend
        customer_says(conversation, SATURDAY_NOON + timedelta(minutes=minute))
    customer_says(conversation, utc((2026, 3, 8), 20))  # Sunday night
    assert len(auto_replies(conversation)) == 1

    agent_says(conversation, agent, utc((2026, 3, 9), 6, 5))  # Monday 09:05
    customer_says(conversation, utc((2026, 3, 9), 8))  # open: no auto-reply
    assert len(auto_replies(conversation)) == 1
    customer_says(conversation, utc((2026, 3, 9), 15))  # Monday 18:00: a new closed spell
    customer_says(conversation, utc((2026, 3, 9), 15, 1))
    replies = auto_replies(conversation)
    assert len(replies) == 2 and "Tuesday at 09:00" in replies[1].body


def test_no_auto_reply_after_an_agent_answered_in_the_same_closed_spell(
    istanbul, make_customer, make_agent
):
    agent = make_agent(teams=[istanbul])
    customer = make_customer()
    conversation, _ = conversation_start(
        customer=customer, body="hi", client_id="open", team=istanbul, at=utc((2026, 3, 6), 13)
    )
    publish_pending_events()
    assert auto_replies(conversation) == [], "written while open"
    agent_says(conversation, agent, utc((2026, 3, 6), 15))  # working late on Friday
    customer_says(conversation, utc((2026, 3, 6), 15, 5))
    assert auto_replies(conversation) == [], "someone is there: no 'we are away'"


def test_no_auto_reply_while_open_or_without_hours(istanbul, make_team, make_customer):
    assert auto_replies(start(make_customer, istanbul, utc((2026, 3, 2), 7))) == []
    always = make_team()
    assert auto_replies(start(make_customer, always, SATURDAY_NOON)) == []


def test_the_auto_reply_is_idempotent_and_ignores_imported_history(istanbul, make_customer):
    conversation = start(make_customer, istanbul, SATURDAY_NOON)
    first = conversation.messages.get(author_kind=AuthorKind.CUSTOMER)
    assert auto_reply_when_closed(message=first) is None, "already answered in this spell"
    assert len(auto_replies(conversation)) == 1
    line = (
        '{"external_id": "old-1", "channel": "web", "team": "Destek", '
        '"customer": {"external_id": "old-c", "name": "Old"}, '
        '"messages": [{"author_kind": "customer", "body": "hi", '
        '"sent_at": "2026-03-07T09:00:00+00:00"}]}'
    )
    assert import_lines([line]).created == 1
    publish_pending_events()
    imported = Conversation.objects.get(external_id="old-1")
    assert imported.team == istanbul
    assert auto_replies(imported) == [], "old news is not answered"


def test_the_auto_reply_is_no_reply_in_any_metric(istanbul, make_customer, make_agent):
    agent = make_agent(teams=[istanbul])
    conversation = start(make_customer, istanbul, SATURDAY_NOON)
    assert len(auto_replies(conversation)) == 1
    agent_says(conversation, agent, utc((2026, 3, 9), 6))  # Monday 09:00, 45 hours later
    process_new_events()
    report = summary(utc((2026, 3, 1), 0), utc((2026, 3, 10), 0), Slice())
    assert report["messages"] == {"in": 1, "out": 1}
    assert report["first_response_time"]["count"] == 1
    assert report["first_response_time"]["mean"] == 45 * 3600
    assert report["wait_time"]["mean"] == 45 * 3600


# --- Availability ------------------------------------------------------------------------------

AVAILABILITY = "/api/v1/widget/availability"


@pytest.fixture
def widget():
    cache.clear()
    yield APIClient()
    cache.clear()


def every_day(team, opens: datetime, closes: datetime) -> None:
    zone = ZoneInfo(team.time_zone)
    office_hours(
        team,
        opens.astimezone(zone).time().isoformat(),
        closes.astimezone(zone).time().isoformat(),
        days=range(7),
    )


def test_availability_says_when_a_closed_team_opens(widget, make_team, make_agent):
    team = make_team(name="Gece", time_zone=ISTANBUL)
    make_agent(teams=[team], presence=Presence.ONLINE, capacity=5)  # online, with room
    now = timezone.now().replace(microsecond=0)
    every_day(team, now + timedelta(hours=2), now + timedelta(hours=3))
    answer = widget.get(AVAILABILITY, {"team": "Gece"}).json()
    assert answer["open_now"] is False and answer["can_chat_live"] is False
    opens_at = datetime.fromisoformat(answer["opens_at"].replace("Z", "+00:00"))
    assert opens_at == now + timedelta(hours=2)


def test_availability_of_an_open_team(widget, make_team, make_agent):
    team = make_team(name="Gündüz", time_zone=BERLIN)
    make_agent(teams=[team], presence=Presence.ONLINE, capacity=5)
    now = timezone.now().replace(microsecond=0)
    every_day(team, now - timedelta(hours=1), now + timedelta(hours=1))
    answer = widget.get(AVAILABILITY, {"team": "Gündüz"}).json()
    assert answer["open_now"] is True and answer["opens_at"] is None
    assert answer["can_chat_live"] is True


# --- Admin ---------------------------------------------------------------------------------------


def test_hours_are_edited_inline_on_the_team(client, make_agent, make_team):
    from django.urls import reverse

    client.force_login(make_agent(is_superuser=True))
    team = make_team(name="Inline")
    url = reverse("admin:conversations_team_change", args=[team.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"business_hours-TOTAL_FORMS" in page.content
    form = {
        "name": "Inline",
        "time_zone": ISTANBUL,
        "bot": "off",
        "business_hours-TOTAL_FORMS": "2",
        "business_hours-INITIAL_FORMS": "0",
        "business_hours-0-weekday": "0",
        "business_hours-0-opens": "09:00",
        "business_hours-0-closes": "17:00",
        "business_hours-1-weekday": "4",
        "business_hours-1-opens": "22:00",
        "business_hours-1-closes": "06:00",
    }
    assert client.post(url, form).status_code == 302
    team.refresh_from_db()
    assert team.time_zone == ISTANBUL
    assert [str(row) for row in team.business_hours.all()] == [
        "Monday 09:00–17:00",
        "Friday 22:00–06:00",
    ]
    bad = client.post(url, {**form, "time_zone": "Nowhere/Atlantis"})
    assert bad.status_code == 200 and b"is not a time zone name" in bad.content
    closed = make_team(name="Closed now")
    now = timezone.now().replace(microsecond=0)
    every_day(closed, now + timedelta(hours=2), now + timedelta(hours=3))
    listing = client.get(reverse("admin:conversations_team_changelist")).content.decode()
    assert "Closed until" in listing and "Open" in listing


# --- Property: the UTC intervals agree with a plain wall-clock reading ------------------------

ZONES = ["UTC", ISTANBUL, BERLIN, "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
# Whole hours from 05:00, plus midnight as a closing time: no opening or closing falls in
# an hour that a DST change skips or repeats (those change at 00:00–03:00 in these zones).
CLOCKS = [time(hour) for hour in range(5, 24)]


def wall_clock_open(rows: list[tuple[int, time, time]], zone: ZoneInfo, moment: datetime) -> bool:
    """Open if the team's wall clock at `moment` is inside one of its intervals."""
    local = moment.astimezone(zone)
    weekday, now = local.weekday(), local.time()
    for day, opens, closes in rows:
        if closes > opens:
            if day == weekday and opens <= now < closes:
                return True
        elif (day == weekday and now >= opens) or ((day + 1) % 7 == weekday and now < closes):
            return True
    return False


@given(
    zone=st.sampled_from(ZONES),
    rows=st.lists(
        st.tuples(
            st.integers(0, 6), st.sampled_from(CLOCKS), st.sampled_from([*CLOCKS, time(0)])
        ).filter(lambda row: row[1] != row[2]),
        min_size=1,
        max_size=6,
    ),
    # moments near the edges of the intervals (where DST mistakes show), any day of the year
    probes=st.lists(
        st.tuples(st.integers(0, 365), st.integers(0, 5), st.booleans(), st.integers(-90, 90)),
        min_size=1,
        max_size=8,
    ),
)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_open_and_next_opening_agree_with_the_wall_clock(make_team, zone, rows, probes):
    team = make_team(time_zone=zone)
    hours(
        team,
        *(
            (day, opens.isoformat("minutes"), closes.isoformat("minutes"))
            for day, opens, closes in rows
        ),
    )
    tz = ZoneInfo(zone)
    for day, index, at_opening, delta in probes:
        _weekday, opens, closes = rows[index % len(rows)]
        date = datetime(2026, 1, 1).date() + timedelta(days=day)
        edge = datetime.combine(date, opens if at_opening else closes, tzinfo=tz)
        moment = edge.astimezone(UTC) + timedelta(minutes=delta)
        assert team_open_at(team, moment) == wall_clock_open(rows, tz, moment), moment
        opening = next_opening(team, moment)
        assert opening is not None and opening >= moment
        assert team_open_at(team, opening)
        if opening > moment:
            # closed all the way there: just before it, and every 59 minutes on the way
            assert not team_open_at(team, opening - timedelta(minutes=1))
            probe = moment
            while probe < opening:
                assert not wall_clock_open(rows, tz, probe), (moment, probe, opening)
                probe += timedelta(minutes=59)


@pytest.mark.django_db(transaction=True)
def test_a_burst_handled_by_two_workers_at_once_gets_one_auto_reply(make_team, make_customer):
    """Two processes reacting to two messages of one burst: the conversation's lock makes
    the second see the first's auto-reply."""
    import threading

    from django.db import connection

    team = make_team(time_zone=ISTANBUL)
    office_hours(team)
    with muted_receivers():
        conversation = start(make_customer, team, SATURDAY_NOON)
        messages = [
            customer_says(conversation, SATURDAY_NOON + timedelta(seconds=s)) for s in (1, 2)
        ]
    assert auto_replies(conversation) == []
    barrier, failures = threading.Barrier(len(messages)), []

    def react(message) -> None:
        try:
            barrier.wait(timeout=10)
            auto_reply_when_closed(message=message)
        except Exception as error:  # noqa: BLE001 - re-raised below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=react, args=(message,)) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(auto_replies(conversation)) == 1
