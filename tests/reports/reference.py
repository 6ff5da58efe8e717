"""A plain, independent reading of DESIGN.md "Metrics", for checking reports/metrics.py.

It works from a list of actions (what people did, in time order; at one instant in the order
the fine print gives: events, then messages, then a resolution, then ratings) and computes each metric the way the definitions are worded: cycles first, then turns as
"customer messages since the previous reply", then handle time as the measure of
intersected intervals. It shares no code with the production walk.
"""

from dataclasses import dataclass, field
from typing import Any

Interval = tuple[float, float]


@dataclass
class Cycle:
    start: float
    number: int
    end: float | None = None
    resolver: Any = None
    customer_messages: list[float] = field(default_factory=list)
    replies: list[tuple[float, Any]] = field(default_factory=list)
    pauses: list[tuple[float, str]] = field(default_factory=list)  # (time, status) changes


def measure(intervals: list[Interval]) -> float:
    return sum(max(0.0, end - start) for start, end in intervals)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) < min(e1, e2)]


def assignee_at(assignments: list[tuple[float, Any]], moment: float) -> Any:
    current = None
    for at, agent in assignments:
        if at <= moment:
            current = agent
    return current


def assigned_intervals(
    assignments: list[tuple[float, Any]], start: float, end: float
) -> list[Interval]:
    """When someone was assigned within [start, end]."""
    points = [start] + [at for at, _ in assignments if start < at < end] + [end]
    return [
        (a, b)
        for a, b in zip(points, points[1:], strict=False)
        if assignee_at(assignments, a) is not None
    ]


def open_intervals(cycle: Cycle) -> list[Interval]:
    """When the cycle was open (not pending or snoozed), from its start to its end."""
    assert cycle.end is not None
    changes = [(cycle.start, "open"), *cycle.pauses]
    spans = []
    for (at, status), (next_at, _) in zip(changes, [*changes[1:], (cycle.end, "")], strict=False):
        if status == "open":
            spans.append((at, next_at))
    return spans


def cycles_of(
    actions: list[dict[str, Any]],
) -> tuple[list[Cycle], list[tuple[float, Any]], list[tuple[float, int]]]:
    cycles: list[Cycle] = []
    assignments: list[tuple[float, Any]] = []
    ratings: list[tuple[float, int]] = []
    current: Cycle | None = None
    status = "open"
    for action in actions:
        kind, at = action["kind"], action["at"]
        if kind == "customer":
            if current is None:
                current = Cycle(at, len(cycles) + 1)
                cycles.append(current)
            elif status in ("pending", "snoozed"):
                current.pauses.append((at, "open"))
            status = "open"
            current.customer_messages.append(at)
        elif kind == "agent" and current is not None:
            current.replies.append((at, action["agent"]))
        elif kind == "assign":
            assignments.append((at, action["agent"]))
        elif kind in ("pending", "snoozed", "open") and current is not None:
            current.pauses.append((at, kind))
            status = kind
        elif kind == "resolve" and current is not None:
            current.end = at
            current.resolver = (
                action["agent"] if action["agent"] is not None else assignee_at(assignments, at)
            )
            current = None
        elif kind == "reopen" and current is None and cycles:
            current = Cycle(at, len(cycles) + 1)
            cycles.append(current)
            status = "open"
        elif kind == "rate":
            ratings.append((at, action["score"]))
    return cycles, assignments, ratings


def reference_facts(actions: list[dict[str, Any]]) -> set[tuple[str, float, float, Any]]:
    """{(metric, completed at, value, credited agent)} for one conversation."""
    cycles, assignments, ratings = cycles_of(actions)
    facts: set[tuple[str, float, float, Any]] = set()
    for action in actions:
        if action["kind"] == "customer":
            facts.add(("messages_in", action["at"], 1, None))
        elif action["kind"] == "agent":
            facts.add(("messages_out", action["at"], 1, action["agent"]))
        elif action["kind"] == "escalate":  # a call-back request: who asked, else the assignee
            asked = action.get("agent")
            credited = asked if asked is not None else assignee_at(assignments, action["at"])
            facts.add(("escalated", action["at"], 1, credited))
    for cycle in cycles:
        kind = "created" if cycle.number == 1 else "reopened"
        facts.add((kind, cycle.start, 1, assignee_at(assignments, cycle.start)))
        if cycle.replies:
            at, agent = cycle.replies[0]
            facts.add(("first_response_time", at, at - cycle.start, agent))
        previous_reply = float("-inf")
        for at, agent in cycle.replies:
            turn = [c for c in cycle.customer_messages if previous_reply < c < at]
            if turn:
                facts.add(("wait_time", at, at - min(turn), agent))
            previous_reply = at
        if cycle.end is None:
            continue
        facts.add(("resolved", cycle.end, 1, cycle.resolver))
        facts.add(("resolution_time", cycle.end, cycle.end - cycle.start, cycle.resolver))
        assigned = assigned_intervals(assignments, cycle.start, cycle.end)
        opened = open_intervals(cycle)
        if assigned:
            facts.add(
                ("handle_time", cycle.end, measure(intersect(opened, assigned)), cycle.resolver)
            )
        elif cycle.replies:
            since_reply = [(cycle.replies[0][0], cycle.end)]
            facts.add(
                ("handle_time", cycle.end, measure(intersect(opened, since_reply)), cycle.resolver)
            )
    for at, score in ratings:
        rated = [c for c in cycles if c.end is not None and c.end <= at][-1]
        facts.add(("csat", at, score, rated.resolver))
    return facts
