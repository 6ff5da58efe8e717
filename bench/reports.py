"""Reports at scale: import, full rebuild and report reads on 1,000,000 conversations.

    .venv/bin/python bench/reports.py --database helpdesk_reports   # create, load, rebuild, read
    .venv/bin/python bench/reports.py --copy-of helpdesk_1m --database helpdesk_reports_1m
    .venv/bin/python bench/reports.py --database helpdesk_reports_1m --skip-load
    .venv/bin/python bench/reports.py --database helpdesk_reports_1m --skip-load --no-rebuild

Loading (bench/load.py): recreates the database, migrates, generates `bench/history.py`
conversations (about six messages each, over 120 days) and imports them with
`import_history --bulk`, printing the import rate; --copy-of copies a loaded database
instead (the original is never written to). Then, on PostgreSQL:

- the full rebuild (`reports.services.rebuild_all`, what `manage.py rebuild_reports` runs),
  and the VACUUM autovacuum would run next (it lets report reads use index-only scans; the
  conversations too, which a copied database has never had);
- the server time of GET /api/v1/reports/summary and /timeseries for a 90-day range, whole
  and for one team: the views called in-process through Django's test client (routing,
  authentication, the view, the selectors, JSON rendering; no network), median of --runs;
- the floor: one hand-written SQL query computing first response time straight from the
  messages table (each conversation's first cycle: its first customer message to the first
  public agent reply after it), with its median and p90.
Not part of the test run.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--database", default="helpdesk_bench_reports")
    parser.add_argument("--skip-load", action="store_true", help="reuse a loaded database")
    parser.add_argument("--copy-of", help="copy this loaded database instead of loading")
    parser.add_argument("--workers", type=int, default=None, help="rebuild processes")
    parser.add_argument("--runs", type=int, default=7, help="timed calls per endpoint")
    parser.add_argument(
        "--no-rebuild", action="store_true", help="time the endpoints only (rebuilt data)"
    )
    args = parser.parse_args()

    os.environ.update(
        DATABASE_URL=f"{SERVER}/{args.database}",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-reports"),
        ALLOWED_HOSTS="testserver,localhost",
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
    if not args.skip_load:
        load_data(args)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    if args.no_rebuild:
        endpoints(args.runs)
        return
    print_sizes()
    rebuild(args.workers)
    endpoints(args.runs)
    floor()


def load_data(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.load import copy_database, load

    if args.copy_of:
        seconds = copy_database(args.copy_of, args.database)
        print(f"copied {args.copy_of} to {args.database} in {seconds:.0f} s")
        return
    figures = load(args.conversations, args.database)
    print(
        f"import (--bulk): {args.conversations:,} conversations in {figures['seconds']:.0f} s, "
        f"{figures['rate']:,.0f} conversations/s"
    )


def print_sizes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM conversations_conversation), "
            "(SELECT count(*) FROM conversations_message), "
            "(SELECT count(*) FROM conversations_conversationevent)"
        )
        conversations, messages, events = cursor.fetchone()
    print(f"data: {conversations:,} conversations, {messages:,} messages, {events:,} events")


def rebuild(workers: int | None) -> None:
    import logging

    from django.db import connection

    from conversations.models import Conversation
    from reports.models import MetricFact, MetricHistogram, MetricRollup
    from reports.services import rebuild_all

    logging.basicConfig(format="  %(message)s")
    logging.getLogger("reports.rebuild").setLevel(logging.INFO)  # the time of each step
    started = time.perf_counter()
    written = rebuild_all(workers=workers)
    elapsed = time.perf_counter() - started
    print(
        f"full rebuild: {written:,} facts in {elapsed:.1f} s (workers: {workers or os.cpu_count()})"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The conversations too: a copied database starts without statistics or visibility map.
        for model in (MetricFact, MetricRollup, MetricHistogram, Conversation):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    print(f"vacuum after it (autovacuum's next job): {time.perf_counter() - started:.1f} s")
    print(
        f"rows: {MetricFact.objects.count():,} facts, {MetricRollup.objects.count():,} rollups, "
        f"{MetricHistogram.objects.count():,} histogram bins"
    )


def endpoints(runs: int) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from conversations.models import Team
    from reports.models import MetricFact

    user, _ = get_user_model().objects.get_or_create(
        username="bench-reports", defaults={"is_staff": True, "email": "bench@example.com"}
    )
    client = APIClient()
    client.force_authenticate(user)
    last = MetricFact.objects.order_by("-at").values_list("at", flat=True).first()
    until = (last or datetime.now(UTC)).replace(minute=17, second=0, microsecond=0)
    since = until - timedelta(days=90)
    period = {"since": since.isoformat(), "until": until.isoformat()}
    team = Team.objects.order_by("pk").first()
    print(f"90-day range {since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC (median of {runs}):")
    for name, path, extra in (
        ("summary", "/api/v1/reports/summary", {}),
        (
            "timeseries",
            "/api/v1/reports/timeseries",
            {"metric": "first_response_time", "interval": "day", "tz": "Europe/Istanbul"},
        ),
    ):
        for label, slice_ in (
            ("whole", {}),
            (f"team={team.name if team else '-'}", {"team": team.pk} if team else {}),
        ):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(path, period | extra | slice_)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.content[:300]
            print(
                f"  {name:<10} {label:<16} {statistics.median(times) * 1000:7.1f} ms "
                f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
            )


FLOOR_SQL = """
SELECT count(*), avg(seconds), percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds)
FROM (
    SELECT extract(epoch FROM min(reply.created_at) - first.at) AS seconds
    FROM (
        SELECT conversation_id, min(created_at) AS at FROM conversations_message
        WHERE author_kind = 'customer' GROUP BY conversation_id
    ) first
    JOIN conversations_message reply
      ON reply.conversation_id = first.conversation_id AND reply.author_kind = 'agent'
     AND NOT reply.private AND reply.created_at >= first.at
    GROUP BY first.conversation_id, first.at
) answered
"""


def floor() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL)
        count, mean, median, p90 = cursor.fetchone()
    elapsed = time.perf_counter() - started
    print(
        f"floor: one SQL query, first response of each conversation's first cycle from the "
        f"messages table: {elapsed:.1f} s ({count:,} values, mean {mean:.0f} s, "
        f"median {median:.0f} s, p90 {p90:.0f} s)"
    )


if __name__ == "__main__":
    main()
