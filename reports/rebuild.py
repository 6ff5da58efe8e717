"""The full rebuild on PostgreSQL: every fact recomputed from the event log, swapped in at once.

1. Remember the log cursor C. Every event not yet in the log then, or in it but not yet
   sequenced, gets a cursor above C, so it is the incremental task's.
2. Read the log in conversation order over ranges of conversation ids (one text value per
   range, only the columns the definitions read), on one or more processes; each runs
   `facts_for` (the one implementation of the definitions) and COPYs the facts into a
   staging table.
3. Sum the staging facts into hourly and daily rollups and daily histograms with GROUP BY
   (the SQL twin of services._add_fact; the tests hold the two to the same rows), then build
   the indexes the live tables have, two at a time.
4. One short transaction drops the live tables, renames the staging ones in their place and
   sets the report cursor back to C. Readers see the old numbers or the new ones, never a mix;
   the incremental task then recomputes every conversation that changed since C
   (recompute_conversations replaces a conversation's facts wholesale, so nothing counts twice).

Anything failing before step 4 drops the staging tables and leaves the live numbers as they were.
"""

import logging
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, connections, transaction
from django.utils.translation import gettext as _

from conversations.models import Conversation, ConversationEvent

from .buckets import DETRACTOR, EVERY_CHANNEL, EVERY_ID, LOCK_NAMESPACE, PROMOTER, value_bucket
from .metrics import Metric, facts_for, steps_from_events
from .models import MetricFact, MetricHistogram, MetricRollup, ReportCursor

logger = logging.getLogger(__name__)

STAGING = "{}_rebuild"
FACT_COLUMNS = (
    "conversation_id",
    "cycle",
    "metric",
    "at",
    "value",
    "bucket",
    "team_id",
    "agent_id",
    "channel",
    "inbox_id",
)
MESSAGE_CREATED = "message.created"

Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class Plan:
    """What a rebuild covers: conversation-id ranges [start, end) and the log cursor it read."""

    ranges: list[tuple[int, int]]
    conversations: int
    cursor: int


def rebuild_postgresql(*, chunk_size: int, workers: int, progress: Progress | None) -> int:
    """Steps 1–4 of the module docstring; returns the number of facts written."""
    from conversations.selectors import last_cursor

    plan = Plan([], 0, last_cursor())  # first: whatever the ranges read later is at least this
    bounds = Conversation.objects.order_by().values_list("pk", flat=True)
    first, last = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if first is not None and last is not None:
        ranges = [
            (start, min(start + chunk_size, last + 1))
            for start in range(first, last + 1, chunk_size)
        ]
        plan = Plan(ranges, Conversation.objects.count(), plan.cursor)
    if connection.in_atomic_block:
        # Other processes would not see this transaction's rows: one process, and a savepoint
        # whose rollback undoes a failed rebuild.
        with transaction.atomic():
            return _rebuild(plan, 1, progress)
    guard = _one_rebuild_at_a_time()
    try:
        return _rebuild(plan, workers, progress)
    except BaseException:
        _drop_staging_tables()
        raise
    finally:
        guard.close()  # ends its session, and so its lock


class RebuildRunning(Exception):
    """Another full rebuild holds the staging tables."""


def _one_rebuild_at_a_time() -> Any:
    """A connection of its own holding a session lock for the rebuild (the rebuild's own
    connections come and go, and a crash releases the lock with the session)."""
    guard = connections.create_connection("default")
    with guard.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, 0)", [LOCK_NAMESPACE])
        if not cursor.fetchone()[0]:
            guard.close()
            raise RebuildRunning(_("A full rebuild of the reports is already running."))
    return guard


def _rebuild(plan: Plan, workers: int, progress: Progress | None) -> int:
    started = time.perf_counter()

    def done(step: str) -> None:
        logger.info("rebuild: %s after %.1f s", step, time.perf_counter() - started)

    _create_staging_tables()
    written = _compute_facts(plan, workers, progress)
    done(f"{written} facts")
    for jobs in _roll_up_jobs():
        _in_parallel(jobs, workers)
    done("rollups")
    indexes, constraints = _index_jobs()
    _in_parallel(indexes, workers)
    _in_parallel(constraints, 1)
    done("indexes")
    _swap_in(plan.cursor)
    return written


def _in_parallel(jobs: list[Callable[[], None]], workers: int) -> None:
    """Run independent jobs, each in a transaction: on threads with connections of their own
    when there are several workers and no transaction around us, else one after the other."""

    def run(job: Callable[[], None]) -> None:
        try:
            with transaction.atomic():
                job()
        finally:
            if threaded:
                connection.close()

    threaded = workers > 1 and not connection.in_atomic_block
    if not threaded:
        for job in jobs:
            with transaction.atomic():
                job()
        return
    with ThreadPoolExecutor(min(workers, len(jobs))) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()


# --- Step 2: facts, chunk by chunk -----------------------------------------------------------


def _compute_facts(plan: Plan, workers: int, progress: Progress | None) -> int:
    done = written = 0
    if progress:
        progress(0, plan.conversations)
    if workers > 1 and len(plan.ranges) > 1 and not multiprocessing.current_process().daemon:
        connections.close_all()  # the children must not share the parent's connection
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.imap_unordered(_facts_of_range_in_child, plan.ranges)
            for conversations, facts in results:
                done, written = done + conversations, written + facts
                if progress:
                    progress(done, plan.conversations)
        return written
    for start, end in plan.ranges:
        conversations, facts = facts_of_range(start, end)
        done, written = done + conversations, written + facts
        if progress:
            progress(done, plan.conversations)
    return written


def _facts_of_range_in_child(bounds: tuple[int, int]) -> tuple[int, int]:
    try:
        return facts_of_range(*bounds)
    finally:
        connection.close()


def facts_of_range(start: int, end: int) -> tuple[int, int]:
    """Compute the facts of conversations [start, end) into the staging table.

    Returns (conversations, facts).
    """
    slices = {  # the columns after the agent: channel and inbox (0: none)
        pk: f"{_copy_escape(channel)}\t{inbox_id or 0}"
        for pk, channel, inbox_id in Conversation.objects.filter(
            pk__gte=start, pk__lt=end
        ).values_list("pk", "channel", "inbox_id")
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # The processes already share the cores; parallel query would only add to the queue.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(_HISTORY_SQL, [start, end])
        text = cursor.fetchone()[0] or ""
        lines: list[str] = []
        conversations = 0
        for conversation_id, history, times in _histories(text):
            conversations += 1
            tail = slices.get(conversation_id, "\t0")
            prefix = f"{conversation_id}\t"
            for fact in facts_for(steps_from_events(history)):
                metric, value = fact.metric, fact.value
                lines.append(
                    f"{prefix}{fact.cycle}\t{metric}\t{times[fact.at]}\t{value!r}\t"
                    f"{value_bucket(metric, value)}\t{fact.team or 0}\t{fact.agent or 0}\t"
                    f"{tail}\n"
                )
        if lines:
            staging = STAGING.format(MetricFact._meta.db_table)
            with cursor.copy(f"COPY {staging} ({', '.join(FACT_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(lines))
    return conversations, len(lines)


# The history of a range as one text value: a row per event (\x1e between rows, \x1f between
# fields), EVENT_FIELDS after the conversation id. One value rather than a row per event: the
# client's per-row cost was much of the rebuild. JSON text never holds raw control characters.
_HISTORY_SQL = f"""
    SELECT string_agg(
        concat(
            conversation_id, E'\\x1f', type, E'\\x1f', at, E'\\x1f', agent_id, E'\\x1f',
            author_kind, E'\\x1f', public::int, E'\\x1f',
            CASE WHEN type <> '{MESSAGE_CREATED}' THEN change END
        ),
        E'\\x1e' ORDER BY conversation_id, id
    )
    FROM {ConversationEvent._meta.db_table}
    WHERE conversation_id >= %s AND conversation_id < %s
"""


def _histories(
    text: str,
) -> Iterator[tuple[int, list[tuple[Any, ...]], dict[datetime, str]]]:
    """(conversation id, its EVENT_FIELDS rows, each moment's text) in conversation order.

    The moments' text as PostgreSQL wrote it goes back into the facts unchanged (cheaper than
    formatting the datetimes again).
    """
    parse_time = datetime.fromisoformat
    loads = orjson.loads  # several times faster than json.loads on these small objects
    current: int | None = None
    rows: list[tuple[Any, ...]] = []
    times: dict[datetime, str] = {}
    for line in text.split("\x1e") if text else ():
        conversation, type_, at_text, agent, author_kind, public, change = line.split("\x1f")
        conversation_id = int(conversation)
        if conversation_id != current:
            if current is not None:
                yield current, rows, times
            current, rows, times = conversation_id, [], {}
        at = parse_time(at_text)
        times[at] = at_text
        rows.append(
            (
                type_,
                at,
                int(agent) if agent else None,
                author_kind,
                public == "1",
                loads(change) if change else None,
            )
        )
    if current is not None:
        yield current, rows, times


_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _copy_escape(text: str) -> str:
    return re.sub(r"[\\\t\n\r]", lambda match: _COPY_ESCAPES[match.group()], text)


# --- Steps 3 and 4: roll up, index, swap ------------------------------------------------------


def _tables() -> list[str]:
    return [model._meta.db_table for model in (MetricFact, MetricRollup, MetricHistogram)]


def _create_staging_tables() -> None:
    with connection.cursor() as cursor:
        for table in _tables():
            staging = STAGING.format(table)
            cursor.execute(f"DROP TABLE IF EXISTS {staging}")  # left by a crashed rebuild
            cursor.execute(
                f"CREATE TABLE {staging} (LIKE {table} "
                f"INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
            )


def _drop_staging_tables() -> None:
    connections.close_all()  # the failed one may be in an aborted state
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING.format(table)}")


def _roll_up_jobs() -> list[list[Callable[[], None]]]:
    """The SQL twin of services._add_fact: hourly and daily rollups, daily histograms (UTC).

    Three rounds of jobs that can run side by side (the rollup jobs split the metrics in two):
    each slice's own hourly rollups and histograms, from the facts; the team's and everyone's
    rows (services.rows_of_slice), from the own rows; the daily rollups, from the hourly ones.
    Each round reads fewer rows than the one before.
    """
    facts = STAGING.format(MetricFact._meta.db_table)
    rollups = STAGING.format(MetricRollup._meta.db_table)
    histogram = STAGING.format(MetricHistogram._meta.db_table)
    durations = ", ".join(f"'{metric}'" for metric in Metric.DURATIONS)
    slice_ = "metric, team_id, agent_id, channel, inbox_id"
    amount = (
        f"CASE WHEN metric IN ({durations}) THEN round(value * 1000000)::bigint "
        f"ELSE round(value)::bigint END"
    )
    positive = (  # buckets.favourable and unfavourable
        f"count(*) FILTER (WHERE (metric = '{Metric.CSAT}' AND value >= 4) "
        f"OR (metric = '{Metric.NPS}' AND value >= {PROMOTER}))"
    )
    negative = f"count(*) FILTER (WHERE metric = '{Metric.NPS}' AND value <= {DETRACTOR})"
    wide = (  # a team's row and everyone's row
        f"metric, CASE WHEN grouping(team_id) = 1 THEN {EVERY_ID} ELSE team_id END, "
        f"{EVERY_ID}, '{EVERY_CHANNEL}', {EVERY_ID}"
    )
    rollup_columns = f"(granularity, start, {slice_}, count, total, positive, negative)"
    sums = "sum(count), sum(total), sum(positive), sum(negative)"

    def job(*statements: str) -> Callable[[], None]:
        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '1GB'")  # hash tables that never spill
                for statement in statements:
                    cursor.execute(statement)

        return run

    def among(metrics: tuple[str, ...]) -> str:
        return "metric IN (" + ", ".join(f"'{metric}'" for metric in metrics) + ")"

    halves = ((*Metric.DURATIONS, Metric.CSAT, Metric.NPS), Metric.COUNTS)
    own = [
        job(
            f"INSERT INTO {rollups} {rollup_columns} "
            f"SELECT 'hour', date_trunc('hour', at, 'UTC'), {slice_}, count(*), sum({amount}), "
            f"{positive}, {negative} FROM {facts} WHERE {among(half)} GROUP BY 2, {slice_}"
        )
        for half in halves
    ] + [
        job(
            f"INSERT INTO {histogram} (day, {slice_}, bucket, count) "
            f"SELECT date_trunc('day', at, 'UTC'), {slice_}, bucket, count(*) FROM {facts} "
            f"WHERE {among(Metric.DURATIONS)} GROUP BY 1, {slice_}, bucket"
        )
    ]
    wider = [
        job(
            f"INSERT INTO {rollups} {rollup_columns} SELECT 'hour', start, {wide}, {sums} "
            f"FROM {rollups} WHERE granularity = 'hour' AND {among(half)} "
            f"GROUP BY GROUPING SETS ((start, metric, team_id), (start, metric))"
        )
        for half in halves
    ] + [
        job(
            f"INSERT INTO {histogram} (day, {slice_}, bucket, count) "
            f"SELECT day, {wide}, bucket, sum(count) FROM {histogram} "
            f"GROUP BY GROUPING SETS ((day, metric, team_id, bucket), (day, metric, bucket))"
        )
    ]
    daily = [
        job(  # a day's row, wide or not, is the sum of its hours' rows
            f"INSERT INTO {rollups} {rollup_columns} "
            f"SELECT 'day', date_trunc('day', start, 'UTC'), {slice_}, {sums} FROM {rollups} "
            f"WHERE granularity = 'hour' AND {among(half)} GROUP BY 2, {slice_}"
        )
        for half in halves
    ]
    return [own, wider, daily]


def _live_indexes(table: str) -> list[tuple[str, str, str | None]]:
    """(name, definition, constraint type p/u or None) of each index of a live table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT index.relname, pg_get_indexdef(i.indexrelid), c.contype "
            "FROM pg_index i JOIN pg_class index ON index.oid = i.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
            "WHERE i.indrelid = %s::regclass ORDER BY c.contype = 'p' DESC, index.relname",
            [table],
        )
        return cursor.fetchall()


def _staging_name(name: str) -> str:
    return f"{name[:54]}_rebuild"


def _index_jobs() -> tuple[list[Callable[[], None]], list[Callable[[], None]]]:
    """Give each staging table the indexes and unique constraints of its live table.

    A job per index (the facts' first: they are the largest), so two can be built side by
    side; then the constraints on them and fresh statistics, which lock the tables.
    """
    indexes: list[Callable[[], None]] = []
    constraints: list[Callable[[], None]] = []

    def build(statement: str) -> Callable[[], None]:
        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
                cursor.execute(statement)

        return run

    def finish(staging: str, statements: list[str]) -> Callable[[], None]:
        def run() -> None:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute(f"ANALYZE {staging}")

        return run

    for table in _tables():
        staging = STAGING.format(table)
        table_constraints = []
        for name, definition, constraint in _live_indexes(table):
            temporary = _staging_name(name)
            indexes.append(
                build(
                    re.sub(
                        rf"INDEX {re.escape(name)} ON (\S+\.)?{re.escape(table)} ",
                        f"INDEX {temporary} ON {staging} ",
                        definition,
                        count=1,
                    )
                )
            )
            if constraint in ("p", "u"):
                kind = "PRIMARY KEY" if constraint == "p" else "UNIQUE"
                table_constraints.append(
                    f"ALTER TABLE {staging} ADD CONSTRAINT {temporary} {kind} "
                    f"USING INDEX {temporary}"
                )
        constraints.append(finish(staging, table_constraints))
    return indexes, constraints


def _swap_in(cursor_at_start: int) -> None:
    """Step 4, in one short transaction."""
    tables = _tables()
    plans = {table: (_live_indexes(table), _sequence_of(table)) for table in tables}
    with transaction.atomic(), connection.cursor() as cursor:
        # The cursor row first, as the incremental task takes it: a run in progress finishes
        # (on the old tables) and the next one starts on the new tables from C.
        state, _ = ReportCursor.objects.select_for_update().get_or_create(pk=1)
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        for table in tables:
            staging = STAGING.format(table)
            indexes, sequence = plans[table]
            staging_sequence = _sequence_of(staging)
            cursor.execute(f"DROP TABLE {table}")
            cursor.execute(f"ALTER TABLE {staging} RENAME TO {table}")
            for name, _definition, _constraint in indexes:
                cursor.execute(f"ALTER INDEX {_staging_name(name)} RENAME TO {name}")
            if sequence and staging_sequence:
                cursor.execute(
                    f"ALTER SEQUENCE {staging_sequence} RENAME TO {sequence.split('.')[-1]}"
                )
        state.cursor = cursor_at_start
        state.save(update_fields=["cursor", "updated_at"])


def _sequence_of(table: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        return cursor.fetchone()[0]
