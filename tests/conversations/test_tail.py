"""The per-process log tail (conversations/live/tail.py) keeps a bounded window."""

import pytest

from conversations.live import tail
from conversations.live.tail import FORGET_EVERY_SECONDS, WINDOW_SECONDS, LogTail


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(tail.time, "monotonic", lambda: now[0])
    return now


def event(cursor: int, *groups: str) -> tuple[int, tuple[str, ...], dict]:
    return (cursor, groups, {"cursor": cursor})


def opened_at(cursor: int) -> LogTail:
    window = LogTail()
    window.start = window.end = cursor
    return window


def test_events_stay_while_they_are_young(clock: list[float]) -> None:
    window = opened_at(0)
    window._add([event(1, "conversation.1"), event(2, "customer.7")])
    clock[0] += WINDOW_SECONDS + FORGET_EVERY_SECONDS - 1
    window._add([event(3, "conversation.1")])

    assert window.holds_after(0)
    assert window.after(0, ["conversation.1", "customer.7"]) == [
        {"cursor": 1},
        {"cursor": 2},
        {"cursor": 3},
    ]


def test_old_events_are_forgotten_by_age_not_only_by_count(clock: list[float]) -> None:
    window = opened_at(0)
    window._add([event(1, "conversation.1"), event(2, "customer.7")])
    clock[0] += WINDOW_SECONDS / 2
    window._add([event(3, "conversation.1")])
    clock[0] += WINDOW_SECONDS / 2 + FORGET_EVERY_SECONDS
    window._add([event(4, "conversation.2")])

    assert window.start == 2  # the first batch went; the younger ones stay
    assert not window.holds_after(1)  # a socket this far behind reads the database
    assert window.after(2, ["conversation.1", "conversation.2", "customer.7"]) == [
        {"cursor": 3},
        {"cursor": 4},
    ]
    assert "customer.7" not in window.by_group
    assert sorted(window.events) == [3, 4]


def test_a_long_silence_empties_the_window_but_keeps_its_end(clock: list[float]) -> None:
    window = opened_at(10)
    window._add([event(11, "conversation.1")])
    clock[0] += 3600
    window._add([event(12, "conversation.1")])

    assert (window.start, window.end) == (11, 12)
    assert window.after(11, ["conversation.1"]) == [{"cursor": 12}]
