"""Known answers for every metric definition and fine-print case of DESIGN.md "Metrics"."""

from datetime import UTC, datetime, timedelta

from reports.metrics import Fact, HistoryStep, Metric, Step, facts_for, steps_from_events

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE, BOB = 1, 2


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def history(*steps: tuple) -> list[HistoryStep]:
    """(minute, kind, **fields) tuples → steps."""
    return [
        HistoryStep(at(minute), kind, **(fields[0] if fields else {}))
        for minute, kind, *fields in steps
    ]


def values(facts: list[Fact], metric: str) -> list[float]:
    return [fact.value for fact in facts if fact.metric == metric]


def minutes(facts: list[Fact], metric: str) -> list[float]:
    return [value / 60 for value in values(facts, metric)]


C, R = Step.CUSTOMER_MESSAGE, Step.AGENT_REPLY


def test_first_response_and_wait_of_a_simple_thread():
    facts = facts_for(
        history((0, C), (2, C), (5, R, {"agent": ALICE}), (9, C), (10, R, {"agent": BOB}))
    )
    assert minutes(facts, Metric.FIRST_RESPONSE) == [5]
    assert minutes(facts, Metric.WAIT) == [5, 1], "two customer messages in a row are one turn"
    assert [f.agent for f in facts if f.metric == Metric.WAIT] == [ALICE, BOB]
    assert values(facts, Metric.CREATED) == [1]
    assert (
        values(facts, Metric.MESSAGES_IN) == [1, 1, 1]
        and len(values(facts, Metric.MESSAGES_OUT)) == 2
    )


def test_only_public_agent_replies_count():
    # bots, system messages and private notes never reach facts_for as replies (steps_from_events
    # drops them), so a thread with only those has no response at all
    facts = facts_for(history((0, C), (3, Step.RESOLVE, {"agent": ALICE})))
    assert values(facts, Metric.FIRST_RESPONSE) == [] and values(facts, Metric.WAIT) == []
    assert values(facts, Metric.HANDLE) == [], "no assignee and no reply: handle not counted"
    assert minutes(facts, Metric.RESOLUTION) == [3]


def test_unanswered_turn_is_dropped_at_resolution():
    facts = facts_for(
        history((0, C), (1, R, {"agent": ALICE}), (4, C), (6, Step.RESOLVE, {"agent": ALICE}))
    )
    assert minutes(facts, Metric.WAIT) == [1]


def test_a_reply_at_the_instant_of_the_resolution_is_a_reply_of_that_cycle():
    # "Reply and resolve" (or a closing follow-up imported from another helpdesk): at one
    # instant the resolution comes after the messages, so the reply answers the customer.
    facts = facts_for(
        history((0, C), (5, R, {"agent": ALICE}), (5, Step.RESOLVE, {"agent": ALICE}))
    )
    assert minutes(facts, Metric.FIRST_RESPONSE) == [5] and minutes(facts, Metric.WAIT) == [5]
    assert minutes(facts, Metric.HANDLE) == [0], "the first-reply fallback: resolved at once"
    assert minutes(facts, Metric.RESOLUTION) == [5]


def test_reopen_by_customer_starts_a_new_cycle_with_its_own_first_response():
    facts = facts_for(
        history(
            (0, C),
            (2, R, {"agent": ALICE}),
            (10, Step.RESOLVE, {"agent": ALICE}),
            (20, R, {"agent": ALICE}),  # outside a cycle: counts for nothing
            (30, Step.REOPEN),
            (30, C),
            (35, R, {"agent": BOB}),
            (40, Step.RESOLVE, {"agent": BOB}),
        )
    )
    assert minutes(facts, Metric.FIRST_RESPONSE) == [2, 5]
    assert minutes(facts, Metric.WAIT) == [2, 5]
    assert minutes(facts, Metric.RESOLUTION) == [10, 10]
    assert values(facts, Metric.REOPENED) == [1] and [
        f.at for f in facts if f.metric == Metric.REOPENED
    ] == [at(30)]
    assert [f.cycle for f in facts if f.metric == Metric.RESOLUTION] == [1, 2]


def test_explicit_reopen_starts_the_cycle_but_not_the_turn():
    facts = facts_for(
        history(
            (0, C),
            (1, R, {"agent": ALICE}),
            (2, Step.RESOLVE, {"agent": ALICE}),
            (10, Step.REOPEN),
            (14, C),
            (15, R, {"agent": ALICE}),
        )
    )
    assert minutes(facts, Metric.FIRST_RESPONSE) == [1, 5], "from the reopen"
    assert minutes(facts, Metric.WAIT) == [1, 1], "from the next customer message"


def test_reopen_of_a_conversation_that_is_not_resolved_changes_nothing():
    plain = facts_for(history((0, C), (5, R, {"agent": ALICE})))
    with_reopen = facts_for(history((0, C), (3, Step.REOPEN), (5, R, {"agent": ALICE})))
    assert plain == with_reopen


def test_handle_time_counts_assigned_and_open_only():
    facts = facts_for(
        history(
            (0, C),
            (2, Step.ASSIGN, {"agent": ALICE}),
            (3, R, {"agent": ALICE}),
            (4, Step.STATUS, {"status": "pending"}),
            (14, C),  # pending 10 minutes: paused
            (15, Step.STATUS, {"status": "snoozed"}),
            (25, Step.STATUS, {"status": "open"}),
            (27, Step.RESOLVE, {"agent": None}),
        )
    )
    # assigned+open: 2→4 (2) + 14→15 (1) + 25→27 (2) = 5 minutes; credited to the assignee
    assert minutes(facts, Metric.HANDLE) == [5]
    assert [f.agent for f in facts if f.metric == Metric.HANDLE] == [ALICE]


def test_handle_time_falls_back_to_the_first_reply_and_pauses_too():
    facts = facts_for(
        history(
            (0, C),
            (4, R, {"agent": BOB}),
            (6, Step.STATUS, {"status": "pending"}),
            (16, Step.STATUS, {"status": "open"}),
            (19, Step.RESOLVE, {"agent": BOB}),
        )
    )
    assert minutes(facts, Metric.HANDLE) == [5]  # 4→6 and 16→19


def test_any_assignee_in_the_cycle_means_the_assignee_rule_even_if_zero():
    facts = facts_for(
        history(
            (0, C),
            (1, R, {"agent": ALICE}),
            (2, Step.STATUS, {"status": "pending"}),
            (3, Step.ASSIGN, {"agent": ALICE}),
            (4, Step.ASSIGN, {"agent": None}),
            (5, Step.STATUS, {"status": "open"}),
            (9, Step.RESOLVE, {"agent": ALICE}),
        )
    )
    assert values(facts, Metric.HANDLE) == [0]


def test_assignee_kept_from_the_previous_cycle_holds_from_the_cycle_start():
    facts = facts_for(
        history(
            (0, C),
            (1, Step.ASSIGN, {"agent": ALICE}),
            (2, R, {"agent": ALICE}),
            (3, Step.RESOLVE, {"agent": ALICE}),
            (100, C),
            (104, R, {"agent": ALICE}),
            (110, Step.RESOLVE, {"agent": None}),
        )
    )
    assert minutes(facts, Metric.HANDLE) == [2, 10]


def test_handle_time_is_credited_to_the_resolver():
    facts = facts_for(
        history(
            (0, C),
            (1, Step.ASSIGN, {"agent": ALICE}),
            (2, R, {"agent": ALICE}),
            (5, Step.RESOLVE, {"agent": BOB}),
        )
    )
    assert [(f.agent, f.value) for f in facts if f.metric == Metric.HANDLE] == [(BOB, 240.0)]


def test_csat_is_credited_to_the_resolver_of_the_rated_cycle_and_keeps_the_team():
    facts = facts_for(
        history(
            (0, Step.TEAM, {"team": 7}),
            (0, C),
            (1, R, {"agent": ALICE}),
            (2, Step.RESOLVE, {"agent": ALICE}),
            (3, Step.TEAM, {"team": 8}),
            (4, Step.RATE, {"score": 4}),
        )
    )
    [rating] = [f for f in facts if f.metric == Metric.CSAT]
    assert (rating.value, rating.agent, rating.team, rating.at) == (4, ALICE, 8, at(4))
    [first] = [f for f in facts if f.metric == Metric.FIRST_RESPONSE]
    assert first.team == 7


def test_customer_message_ends_pending_even_without_a_status_step():
    facts = facts_for(
        history(
            (0, C),
            (0, Step.ASSIGN, {"agent": ALICE}),
            (1, R, {"agent": ALICE}),
            (2, Step.STATUS, {"status": "snoozed"}),
            (10, C),
            (12, Step.RESOLVE, {"agent": ALICE}),
        )
    )
    assert minutes(facts, Metric.HANDLE) == [4]  # 0→2 and 10→12


def test_agent_messages_before_any_customer_message_count_for_nothing():
    facts = facts_for(history((0, R, {"agent": ALICE}), (5, C), (6, R, {"agent": ALICE})))
    assert minutes(facts, Metric.FIRST_RESPONSE) == [1]
    assert [f.at for f in facts if f.metric == Metric.CREATED] == [at(5)]


def test_a_call_back_request_counts_once_when_asked_credited_to_who_asked():
    facts = facts_for(
        history(
            (0, C),
            (1, Step.ASSIGN, {"agent": ALICE}),
            (2, Step.ESCALATE, {"agent": BOB}),
            (3, Step.RESOLVE, {"agent": ALICE}),
            (4, Step.ESCALATE),  # after resolution, nobody named: the assignee
        )
    )
    escalations = [(f.at, f.agent, f.cycle) for f in facts if f.metric == Metric.ESCALATED]
    assert escalations == [(at(2), BOB, 1), (at(4), ALICE, 1)]
    assert values(facts, Metric.FIRST_RESPONSE) == [], "an escalation is not a reply"


def test_escalations_follow_the_team_of_the_moment():
    facts = facts_for(
        history(
            (0, Step.TEAM, {"team": 7}),
            (0, C),
            (1, Step.ESCALATE, {"agent": ALICE}),
            (2, Step.TEAM, {"team": 8}),
            (3, Step.ESCALATE, {"agent": ALICE}),
        )
    )
    assert [f.team for f in facts if f.metric == Metric.ESCALATED] == [7, 8]


def test_the_event_log_turns_new_call_back_requests_into_escalations():
    """Only "" → number is a request; a corrected number or clearing it is not."""
    changes = [
        {"callback_phone": [None, "+90 555 111"]},
        {"callback_phone": ["+90 555 111", "+90 555 112"]},
        {"callback_phone": ["+90 555 112", None]},
        {"callback_phone": [None, "0212 555"]},
    ]
    rows = [
        ("conversation.updated", at(n), ALICE, "", True, change) for n, change in enumerate(changes)
    ]
    steps = list(steps_from_events(rows))
    assert [(s.kind, s.at, s.agent) for s in steps] == [
        (Step.ESCALATE, at(0), ALICE),
        (Step.ESCALATE, at(3), ALICE),
    ]


def test_system_and_bot_messages_are_not_replies_in_the_event_log():
    """An out-of-hours auto-reply (a system message) answers nobody: the turn keeps waiting."""
    rows = [
        ("message.created", at(0), None, "customer", True, {}),
        ("message.created", at(1), None, "system", True, {}),
        ("message.created", at(2), None, "bot", True, {}),
        ("message.created", at(5), ALICE, "agent", True, {}),
    ]
    facts = facts_for(steps_from_events(rows))
    assert minutes(facts, Metric.FIRST_RESPONSE) == [5]
    assert minutes(facts, Metric.WAIT) == [5]
    assert len(values(facts, Metric.MESSAGES_OUT)) == 1


def test_escalations_agree_with_the_reference_reading():
    from .reference import reference_facts

    actions = [
        {"kind": "customer", "at": 0},
        {"kind": "assign", "at": 60, "agent": ALICE},
        {"kind": "escalate", "at": 120, "agent": None},
        {"kind": "escalate", "at": 180, "agent": BOB},
    ]
    steps = [
        HistoryStep(at(0), C),
        HistoryStep(at(1), Step.ASSIGN, agent=ALICE),
        HistoryStep(at(2), Step.ESCALATE),
        HistoryStep(at(3), Step.ESCALATE, agent=BOB),
    ]
    got = {
        (f.metric, (f.at - T0).total_seconds(), f.value, f.agent)
        for f in facts_for(steps)
        if f.metric == Metric.ESCALATED
    }
    expected = {fact for fact in reference_facts(actions) if fact[0] == "escalated"}
    assert got == expected == {("escalated", 120, 1, ALICE), ("escalated", 180, 1, BOB)}


# --- NPS -------------------------------------------------------------------------------------


def test_nps_is_credited_to_the_resolver_and_the_team_when_answered():
    facts = facts_for(
        history(
            (0, Step.TEAM, {"team": 7}),
            (0, C),
            (0, Step.ASSIGN, {"agent": BOB}),
            (1, R, {"agent": BOB}),
            (2, Step.RESOLVE, {"agent": ALICE}),
            (3, Step.RATE, {"score": 5}),
            (4, Step.TEAM, {"team": 8}),
            (5, Step.NPS, {"score": 9}),
        )
    )
    [answer] = [f for f in facts if f.metric == Metric.NPS]
    assert (answer.value, answer.agent, answer.team, answer.at) == (9, ALICE, 8, at(5))
    assert values(facts, Metric.CSAT) == [5], "the NPS answer is not a CSAT rating"


def test_nps_before_any_resolution_is_credited_to_the_assignee():
    facts = facts_for(
        history((0, C), (0, Step.ASSIGN, {"agent": BOB}), (3, Step.NPS, {"score": 0}))
    )
    assert [(f.value, f.agent) for f in facts if f.metric == Metric.NPS] == [(0, BOB)]
    facts = facts_for(history((0, C), (3, Step.NPS, {"score": 7})))
    assert [(f.value, f.agent) for f in facts if f.metric == Metric.NPS] == [(7, None)]


def test_nps_answers_come_from_the_event_log():
    events = [
        ("message.created", at(0), None, "customer", True, {}),
        ("conversation.nps_answered", at(9), None, "", True, {"nps": {"score": 10}}),
    ]
    steps = list(steps_from_events(events))
    assert steps[-1] == HistoryStep(at(9), Step.NPS, score=10)
    assert values(facts_for(steps), Metric.NPS) == [10]


def test_a_handed_over_conversation_counts_first_response_and_wait_from_the_handover():
    # docs/reports.md "The bot": the customer writes at 0 and 3 while the bot holds it, asks
    # for a person at 10, and Alice replies at 12. Resolution still counts from 0.
    facts = facts_for(
        history(
            (0, Step.BOT),
            (0, C),
            (3, C),
            (10, Step.HANDOVER),
            (10, Step.ASSIGN, {"agent": ALICE}),
            (12, R, {"agent": ALICE}),
            (20, Step.RESOLVE, {"agent": ALICE}),
        )
    )
    assert minutes(facts, Metric.FIRST_RESPONSE) == [2]
    assert minutes(facts, Metric.WAIT) == [2]
    assert minutes(facts, Metric.RESOLUTION) == [20]
    assert values(facts, Metric.HANDED_OVER) == [1]
    assert values(facts, Metric.BOT_RESOLVED) == []


def test_a_conversation_the_bot_resolved_alone_has_no_response_and_no_handle_time():
    facts = facts_for(history((0, Step.BOT), (0, C), (30, Step.RESOLVE)))
    assert values(facts, Metric.BOT_RESOLVED) == [1]
    assert values(facts, Metric.RESOLVED) == [1]
    assert values(facts, Metric.FIRST_RESPONSE) == values(facts, Metric.HANDLE) == []
    assert values(facts, Metric.HANDED_OVER) == []


def test_the_bot_and_its_handover_are_read_from_the_event_log():
    events = [
        ("conversation.created", at(0), None, None, True, {"team": [None, 1], "bot": True}),
        ("message.created", at(0), None, "customer", True, {}),
        ("message.created", at(1), None, "bot", True, {}),
        ("conversation.updated", at(5), None, None, True, {"handed_over": True}),
    ]
    kinds = [step.kind for step in steps_from_events(events)]
    assert kinds == [Step.TEAM, Step.BOT, C, Step.HANDOVER]
