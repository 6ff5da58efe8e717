"""Writes of the reports app: recompute conversations' facts and keep the rollups in step.

One function, `recompute_conversations`, serves the incremental task and the full rebuild,
so they cannot disagree. It replaces a conversation's facts wholesale and applies the
difference to the rollups in the same transaction; totals are integers (microseconds for
durations), so adding and subtracting in any order gives exactly the numbers a rebuild gives.
"""

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from django.db import connection, transaction

from conversations.models import Conversation, ConversationEvent

from .buckets import (
    EVERY_CHANNEL,
    EVERY_ID,
    LOCK_NAMESPACE,
    day_of,
    favourable,
    hour_of,
    rollup_amount,
    unfavourable,
    value_bucket,
)
from .metrics import EVENT_FIELDS, Fact, Metric, facts_for, steps_from_events
from .models import MetricFact, MetricHistogram, MetricRollup, ReportCursor
from .rebuild import rebuild_postgresql

# --- Recompute -------------------------------------------------------------------------------


def recompute_conversations(conversation_ids: Iterable[int]) -> int:
    """Replace the facts of these conversations by what their history says now.

    Returns the number of facts written. Safe to run concurrently with itself and with live
    writes: each conversation is recomputed under its own advisory lock.
    """
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    with transaction.atomic():
        _lock(ids)
        old = list(MetricFact.objects.filter(conversation_id__in=ids))
        new = _facts_from_history(ids)
        MetricFact.objects.filter(conversation_id__in=ids).delete()
        MetricFact.objects.bulk_create(new, batch_size=2000)
        _apply_to_rollups(old, new)
    return len(new)


def _lock(ids: Sequence[int]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite has a single writer already
    with connection.cursor() as cursor:
        for conversation_id in ids:  # sorted: no deadlocks between two recomputes
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, conversation_id]
            )


def _facts_from_history(ids: Sequence[int]) -> list[MetricFact]:
    slices = {
        pk: (channel, inbox_id or 0)
        for pk, channel, inbox_id in Conversation.objects.filter(pk__in=ids).values_list(
            "pk", "channel", "inbox_id"
        )
    }
    rows = (
        ConversationEvent.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "id")
        .values_list("conversation_id", *EVENT_FIELDS)
    )
    facts: list[MetricFact] = []
    for conversation_id, events in groupby(rows.iterator(chunk_size=5000), key=lambda row: row[0]):
        history = steps_from_events(row[1:] for row in events)
        channel, inbox_id = slices.get(conversation_id, ("", 0))
        facts.extend(
            _fact_row(conversation_id, channel, inbox_id, fact) for fact in facts_for(history)
        )
    return facts


def _fact_row(conversation_id: int, channel: str, inbox_id: int, fact: Fact) -> MetricFact:
    return MetricFact(
        conversation_id=conversation_id,
        cycle=fact.cycle,
        metric=fact.metric,
        at=fact.at,
        value=fact.value,
        bucket=value_bucket(fact.metric, fact.value),
        team_id=fact.team or 0,
        agent_id=fact.agent or 0,
        channel=channel,
        inbox_id=inbox_id,
    )


# --- Rollups ---------------------------------------------------------------------------------

RollupKey = tuple[str, datetime, str, int, int, str, int]
HistogramKey = tuple[str, datetime, int, int, str, int, int]


def _apply_to_rollups(old: Iterable[MetricFact], new: Iterable[MetricFact]) -> None:
    rollups: Counter[tuple[RollupKey, str]] = Counter()
    histogram: Counter[HistogramKey] = Counter()
    for facts, sign in ((old, -1), (new, 1)):
        for fact in facts:
            _add_fact(rollups, histogram, fact, sign)
    _upsert_rollups(rollups)
    _upsert_histogram(histogram)


def _add_fact(rollups: Counter, histogram: Counter, fact: MetricFact, sign: int) -> None:
    slices = rows_of_slice(fact.team_id, fact.agent_id, fact.channel, fact.inbox_id)
    amount = rollup_amount(fact.metric, fact.value)
    positive = favourable(fact.metric, fact.value)
    negative = unfavourable(fact.metric, fact.value)
    day = day_of(fact.at)
    for granularity, start in (("hour", hour_of(fact.at)), ("day", day)):
        for slice_ in slices:
            key = (granularity, start, fact.metric, *slice_)
            rollups[(key, "count")] += sign
            rollups[(key, "total")] += sign * amount
            rollups[(key, "positive")] += sign * positive
            rollups[(key, "negative")] += sign * negative
    if fact.metric in Metric.DURATIONS:
        for slice_ in slices:
            histogram[(fact.metric, day, *slice_, fact.bucket)] += sign


def rows_of_slice(
    team_id: int, agent_id: int, channel: str, inbox_id: int
) -> tuple[tuple[int, int, str, int], ...]:
    """The rollup and histogram rows a value counts in: its own slice, its team's, everyone's.

    The wider rows (EVERY_ID, EVERY_CHANNEL) keep a whole or per-team report to a few rows an
    hour or a day however many agents, channels and inboxes there are (selectors.rows_q). An
    inbox belongs to one channel, so the inbox adds no own rows beyond one per inbox in use.
    """
    return (
        (team_id, agent_id, channel, inbox_id),
        (team_id, EVERY_ID, EVERY_CHANNEL, EVERY_ID),
        (EVERY_ID, EVERY_ID, EVERY_CHANNEL, EVERY_ID),
    )


def _upsert_rollups(deltas: Counter) -> None:
    by_key: dict[RollupKey, dict[str, int]] = {}
    for (key, field), amount in deltas.items():
        by_key.setdefault(key, {"count": 0, "total": 0, "positive": 0, "negative": 0})[field] = (
            amount
        )
    rows = [
        (*key, d["count"], d["total"], d["positive"], d["negative"])
        for key, d in by_key.items()
        if any(d.values())
    ]
    table = MetricRollup._meta.db_table
    _upsert(
        table,
        [
            "granularity",
            "start",
            "metric",
            "team_id",
            "agent_id",
            "channel",
            "inbox_id",
            "count",
            "total",
            "positive",
            "negative",
        ],
        ["granularity", "metric", "start", "team_id", "agent_id", "channel", "inbox_id"],
        ["count", "total", "positive", "negative"],
        rows,
    )
    MetricRollup.objects.filter(count=0).delete()


def _upsert_histogram(deltas: Counter) -> None:
    rows = [(*key, amount) for key, amount in deltas.items() if amount]
    _upsert(
        MetricHistogram._meta.db_table,
        ["metric", "day", "team_id", "agent_id", "channel", "inbox_id", "bucket", "count"],
        ["metric", "day", "team_id", "agent_id", "channel", "inbox_id", "bucket"],
        ["count"],
        rows,
    )
    MetricHistogram.objects.filter(count=0).delete()


def _upsert(
    table: str, columns: list[str], conflict: list[str], additive: list[str], rows: list[tuple]
) -> None:
    """INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x (PostgreSQL and SQLite)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{qn(c)} = {qn(table)}.{qn(c)} + excluded.{qn(c)}" for c in additive)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            cursor.execute(
                f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "
                f"VALUES {', '.join([placeholders] * len(batch))} "
                f"ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET {updates}",
                [value for row in batch for value in row],
            )


# --- Incremental and full ---------------------------------------------------------------------


def process_new_events(limit: int = 50_000) -> int:
    """Recompute the conversations touched since the last run; the log is the outbox.

    Returns how many conversations were recomputed. Runs are serialized by the cursor row.
    """
    with transaction.atomic():
        state, _ = ReportCursor.objects.select_for_update().get_or_create(pk=1)
        touched = (
            ConversationEvent.objects.filter(cursor__gt=state.cursor)
            .order_by("cursor")
            .values_list("cursor", "conversation_id")[:limit]
        )
        rows = list(touched)
        if not rows:
            return 0
        ids = {conversation_id for _, conversation_id in rows}
        recompute_conversations(ids)
        state.cursor = rows[-1][0]
        state.save(update_fields=["cursor", "updated_at"])
    return len(ids)


def advance_cursor_over_block(first_cursor: int, last_cursor: int) -> bool:
    """Step the incremental cursor over a block of cursors that a bulk import numbered in
    the caller's transaction, if the cursor had reached the block. Returns whether it moved.

    Never waits: a running incremental pass holds the row, and then reads the block later.
    """
    ReportCursor.objects.bulk_create([ReportCursor(pk=1, cursor=0)], ignore_conflicts=True)
    state = ReportCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()
    if state is None or state.cursor != first_cursor - 1:
        return False
    state.cursor = last_cursor
    state.save(update_fields=["cursor", "updated_at"])
    return True


def rebuild_all(
    *,
    chunk_size: int = 20_000,
    progress: Callable[[int, int], Any] | None = None,
    workers: int | None = None,
) -> int:
    """Recompute every fact and rollup from the history, in chunks. Returns facts written.

    On PostgreSQL the new numbers are built beside the live ones and swapped in at once
    (reports/rebuild.py), on `workers` processes (default: one per core). Elsewhere (the
    embedded SQLite mode) everything runs in one transaction.
    """
    if connection.vendor == "postgresql":
        return rebuild_postgresql(
            chunk_size=chunk_size, workers=workers or os.cpu_count() or 1, progress=progress
        )
    from conversations.selectors import last_cursor

    with transaction.atomic():
        state, _ = ReportCursor.objects.select_for_update().get_or_create(pk=1)
        state.cursor = last_cursor()  # events after this are the incremental task's
        state.save(update_fields=["cursor", "updated_at"])
        for model in (MetricFact, MetricRollup, MetricHistogram):
            model.objects.all().delete()
        ids = list(Conversation.objects.order_by("pk").values_list("pk", flat=True))
        return _recompute_in_chunks(ids, chunk_size, progress)


def recompute_since(
    since: datetime, *, chunk_size: int = 2000, progress: Callable[[int, int], Any] | None = None
) -> int:
    """Recompute the conversations with history at or after `since`; returns facts written.

    A conversation's facts depend on its history only, so the others are already right.
    """
    ids = sorted(
        set(
            ConversationEvent.objects.filter(at__gte=since)
            .order_by()
            .values_list("conversation_id", flat=True)
            .distinct()
        )
    )
    return _recompute_in_chunks(ids, chunk_size, progress)


def _recompute_in_chunks(
    ids: list[int], chunk_size: int, progress: Callable[[int, int], Any] | None
) -> int:
    written = 0
    for start in range(0, len(ids), chunk_size):
        written += recompute_conversations(ids[start : start + chunk_size])
        if progress:
            progress(min(start + chunk_size, len(ids)), len(ids))
    return written
