"""Report reads: summaries and time series from rollups, exact percentiles from facts.

A range [since, until) is split into whole UTC days (daily rollups), whole hours at its
edges (hourly rollups) and the minutes left over (raw facts), so a 90-day summary sums a few
thousand rows. Medians and p90 are exact (numpy's linear interpolation): the daily value
histograms and the edge facts say which bucket holds the wanted rank, and only that bucket's
facts are read, in order, to find the value.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDay, TruncHour, TruncMonth, TruncWeek
from django.utils import timezone

from campaigns.models import CampaignShown
from conversations.models import Channel, Conversation, NpsResponse, Status
from conversations.people import user_name
from helpcenter.models import DEFLECTION_WINDOW, ArticleFeedback, ArticleViews, SuggestionSession

from .buckets import (
    DETRACTOR,
    EVERY_CHANNEL,
    EVERY_ID,
    PROMOTER,
    day_of,
    favourable,
    hour_of,
    rollup_amount,
    unfavourable,
)
from .metrics import Metric
from .models import MetricFact, MetricHistogram, MetricRollup

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Slice:
    """Which part of the helpdesk a report looks at; None means all."""

    team: int | None = None
    agent: int | None = None
    channel: str | None = None
    inbox: int | None = None

    def q(self, prefix: str = "") -> Q:
        conditions = Q()
        if self.team is not None:
            conditions &= Q(**{f"{prefix}team_id": self.team})
        if self.agent is not None:
            conditions &= Q(**{f"{prefix}agent_id": self.agent})
        if self.channel is not None:
            conditions &= Q(**{f"{prefix}channel": self.channel})
        if self.inbox is not None:
            conditions &= Q(**{f"{prefix}inbox_id": self.inbox})
        return conditions


@dataclass
class Segments:
    days: list[tuple[datetime, datetime]] = field(default_factory=list)
    hours: list[tuple[datetime, datetime]] = field(default_factory=list)
    raw: list[tuple[datetime, datetime]] = field(default_factory=list)


def _ceil(moment: datetime, floor: Any, step: timedelta) -> datetime:
    start = floor(moment)
    return start if start == moment else start + step


def split_range(since: datetime, until: datetime) -> Segments:
    segments = Segments()
    first_day, last_day = _ceil(since, day_of, DAY), day_of(until)
    edges = [(since, until)]
    if first_day < last_day:
        segments.days.append((first_day, last_day))
        edges = [(since, first_day), (last_day, until)]
    for start, end in edges:
        if start >= end:
            continue
        first_hour, last_hour = _ceil(start, hour_of, HOUR), hour_of(end)
        if first_hour < last_hour:
            segments.hours.append((first_hour, last_hour))
            segments.raw += [(start, first_hour), (last_hour, end)]
        else:
            segments.raw.append((start, end))
    segments.raw = [(s, e) for s, e in segments.raw if s < e]
    return segments


def _rollup_q(segments: Segments) -> Q:
    condition = Q(pk__in=[])
    for granularity, spans in (("day", segments.days), ("hour", segments.hours)):
        for start, end in spans:
            condition |= Q(granularity=granularity, start__gte=start, start__lt=end)
    return condition


def _raw_q(segments: Segments) -> Q:
    condition = Q(pk__in=[])
    for start, end in segments.raw:
        condition |= Q(at__gte=start, at__lt=end)
    return condition


# --- Totals ----------------------------------------------------------------------------------


@dataclass
class Totals:
    count: int = 0
    total: int = 0
    positive: int = 0  # buckets.favourable: CSAT 4–5, NPS promoters
    negative: int = 0  # buckets.unfavourable: NPS detractors

    def add(self, metric: str, value: float) -> None:
        """Count one value, as a rollup row would (services._add_fact)."""
        self.count += 1
        self.total += rollup_amount(metric, value)
        self.positive += favourable(metric, value)
        self.negative += unfavourable(metric, value)

    def merge(self, other: "Totals") -> None:
        self.count += other.count
        self.total += other.total
        self.positive += other.positive
        self.negative += other.negative


ROLLUP_SUMS = {
    "count": Sum("count"),
    "total": Sum("total"),
    "positive": Sum("positive"),
    "negative": Sum("negative"),
}


def totals(since: datetime, until: datetime, slice_: Slice) -> dict[str, Totals]:
    segments = split_range(since, until)
    result: dict[str, Totals] = defaultdict(Totals)
    rollups = (  # naming the metrics lets PostgreSQL use the rollups' index
        MetricRollup.objects.filter(_rollup_q(segments), rows_q(slice_), metric__in=METRICS)
        .values("metric")
        .annotate(**ROLLUP_SUMS)
    )
    for row in rollups:
        result[row["metric"]] = Totals(row["count"], row["total"], row["positive"], row["negative"])
    if segments.raw:
        # A UNION ALL of one span each: index-only scans, where OR-ed spans read the heap.
        spans = [
            MetricFact.objects.filter(
                slice_.q(), metric__in=METRICS, at__gte=start, at__lt=end
            ).values_list("metric", "value")
            for start, end in segments.raw
        ]
        for metric, value in spans[0].union(*spans[1:], all=True):
            result[metric].add(metric, value)
    if slice_ == Slice():
        result[Metric.NPS].merge(
            _nps_totals(nps_without_conversation(since, until).aggregate(**NPS_SUMS))
        )
    return result


def nps_without_conversation(since: datetime, until: datetime) -> QuerySet[NpsResponse]:
    """The NPS answers in [since, until) that followed no conversation.

    They have no event log to become facts from (the log is per conversation), so the
    reports count them here, in SQL over an index of their own; having no team, agent or
    channel, they count only in a report of everything.
    """
    return NpsResponse.objects.filter(
        conversation__isnull=True, created_at__gte=since, created_at__lt=until
    )


# What those answers add to Totals: buckets.favourable and unfavourable in SQL.
NPS_SUMS = {
    "count": Count("pk"),
    "total": Sum("score"),
    "positive": Count("pk", filter=Q(score__gte=PROMOTER)),
    "negative": Count("pk", filter=Q(score__lte=DETRACTOR)),
}


def _nps_totals(row: dict[str, Any]) -> Totals:
    return Totals(row["count"], row["total"] or 0, row["positive"], row["negative"])


def mean_of(metric: str, entry: Totals) -> float | None:
    if not entry.count:
        return None
    scale = 1_000_000 if metric in Metric.DURATIONS else 1
    return entry.total / scale / entry.count


# --- Exact percentiles -----------------------------------------------------------------------


def bucket_counts(
    since: datetime, until: datetime, slice_: Slice, metrics: list[str]
) -> dict[str, dict[int, int]]:
    """How many of the slice's values of each metric fall in each value bucket in the range."""
    plan = _histogram_plan(since, until)
    counts: dict[str, dict[int, int]] = {metric: defaultdict(int) for metric in metrics}
    if plan.first_day < plan.last_day:
        histogram = (
            MetricHistogram.objects.filter(
                rows_q(slice_),
                metric__in=metrics,
                day__gte=plan.first_day,
                day__lt=plan.last_day,
            )
            .values("metric", "bucket")
            .annotate(n=Sum("count"))
        )
        for row in histogram:
            counts[row["metric"]][row["bucket"]] += row["n"]
    if plan.facts:
        parts = [
            MetricFact.objects.filter(slice_.q(), metric__in=metrics, at__gte=start, at__lt=end)
            .values("metric", "bucket")
            .annotate(n=Count("*"), sign=Value(sign))
            for start, end, sign in plan.facts
        ]
        for row in parts[0].union(*parts[1:], all=True):
            counts[row["metric"]][row["bucket"]] += row["sign"] * row["n"]
    return counts


@dataclass
class HistogramPlan:
    """Whole UTC days read from the daily histograms, and spans of facts to add (+1) to them
    or to take away (-1) from their edge days."""

    first_day: datetime
    last_day: datetime
    facts: list[tuple[datetime, datetime, int]] = field(default_factory=list)


def _histogram_plan(since: datetime, until: datetime) -> HistogramPlan:
    """Each partial edge day is read as its facts, or as its whole day minus the facts of the
    rest of it, whichever spans fewer hours: at most 12 hours of facts per edge (none for a
    range ending now, whose rest of the day has no facts yet)."""
    first_day, last_day = _ceil(since, day_of, DAY), day_of(until)
    if first_day > last_day:  # within one UTC day, not reaching either of its ends
        return HistogramPlan(first_day, first_day, [(since, until, 1)])
    plan = HistogramPlan(first_day, last_day)
    if since < first_day:
        if first_day - since <= DAY / 2:
            plan.facts.append((since, first_day, 1))
        else:
            plan.first_day -= DAY
            plan.facts.append((plan.first_day, since, -1))
    if last_day < until:
        if until - last_day <= DAY / 2:
            plan.facts.append((last_day, until, 1))
        else:
            plan.last_day += DAY
            plan.facts.append((until, plan.last_day, -1))
    return plan


def rows_q(slice_: Slice) -> Q:
    """The rollup or histogram rows of a slice: everyone's or a team's rows when they are
    enough (services.rows_of_slice), else the slice's own rows."""
    if slice_.agent is None and slice_.channel is None and slice_.inbox is None:
        team = EVERY_ID if slice_.team is None else slice_.team
        # Wide rows are the only ones with agent EVERY_ID (their inbox is EVERY_ID too): no
        # inbox condition, so the histogram's partial index still answers alone.
        return Q(team_id=team, agent_id=EVERY_ID, channel=EVERY_CHANNEL)
    return slice_.q() & Q(agent_id__gte=0) & ~Q(channel=EVERY_CHANNEL)


def percentiles(
    buckets: dict[str, dict[int, int]],
    since: datetime,
    until: datetime,
    slice_: Slice,
    qs: tuple[float, ...] = (50, 90),
) -> dict[str, dict[float, float | None]]:
    """numpy.percentile(values, q) of each metric's values for each q, reading only the facts
    at the wanted ranks of the buckets that hold them, all in one query."""
    reads: list[RankRead] = []
    for metric, counts in buckets.items():
        n = sum(counts.values())
        for q in qs if n else ():
            h = (n - 1) * q / 100
            reads += _rank_reads(metric, counts, [math.floor(h), math.ceil(h)])
    values = _values_at_ranks(reads, since, until, slice_)
    result: dict[str, dict[float, float | None]] = {}
    for metric, counts in buckets.items():
        n = sum(counts.values())
        result[metric] = {}
        for q in qs:
            if not n:
                result[metric][q] = None
                continue
            h = (n - 1) * q / 100
            low, high = values[metric, math.floor(h)], values[metric, math.ceil(h)]
            result[metric][q] = low + (h - math.floor(h)) * (high - low)
    return result


@dataclass(frozen=True)
class RankRead:
    """Consecutive ranks of a metric's values that lie in one bucket: the bucket's values
    from `first` to `first + count - 1` in ascending order, of `size` in all."""

    metric: str
    bucket: int
    ranks: tuple[int, ...]
    first: int
    size: int


def _rank_reads(metric: str, buckets: dict[int, int], ranks: list[int]) -> list[RankRead]:
    by_bucket: dict[int, list[tuple[int, int]]] = defaultdict(list)  # bucket -> [(rank, offset)]
    seen = 0
    pending = sorted(set(ranks))
    for bucket in sorted(buckets):
        size = buckets[bucket]
        while pending and pending[0] < seen + size:
            rank = pending.pop(0)
            by_bucket[bucket].append((rank, rank - seen))
        seen += size
    return [
        RankRead(metric, bucket, tuple(rank for rank, _ in items), items[0][1], buckets[bucket])
        for bucket, items in by_bucket.items()
    ]


def _values_at_ranks(
    reads: list[RankRead], since: datetime, until: datetime, slice_: Slice
) -> dict[tuple[str, int], float]:
    """One UNION ALL of index walks (fact_<metric>_value), each from the bucket's nearer
    end, so a walk passes at most half the bucket's facts and nothing is sorted."""
    if not reads:
        return {}
    parts = []
    for index, read in enumerate(reads):
        facts = MetricFact.objects.filter(
            slice_.q(), metric=read.metric, bucket=read.bucket, at__gte=since, at__lt=until
        ).annotate(read=Value(index))
        count = len(read.ranks)
        from_top = read.size - read.first - count  # offset of the last wanted value, descending
        if from_top < read.first:
            facts = facts.order_by("-value")[from_top : from_top + count]
        else:
            facts = facts.order_by("value")[read.first : read.first + count]
        parts.append(facts.values_list("read", "value"))
    rows: Iterable[tuple[int, float]] = chain.from_iterable(parts)  # SQLite: one query each
    if connection.features.supports_slicing_ordering_in_compound:
        rows = parts[0].union(*parts[1:], all=True)
    found: dict[int, list[float]] = defaultdict(list)
    for index, value in rows:
        found[index].append(value)
    values: dict[tuple[str, int], float] = {}
    for index, read in enumerate(reads):
        for rank, value in zip(read.ranks, sorted(found[index]), strict=True):
            values[read.metric, rank] = value
    return values


# --- The summary of shared/API.md ------------------------------------------------------------


def summary(since: datetime, until: datetime, slice_: Slice) -> dict[str, Any]:
    sums = totals(since, until, slice_)
    buckets = bucket_counts(since, until, slice_, list(Metric.DURATIONS))
    result: dict[str, Any] = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "conversations": {
            "created": sums[Metric.CREATED].count,
            "resolved": sums[Metric.RESOLVED].count,
            "reopened": sums[Metric.REOPENED].count,
            "escalated": sums[Metric.ESCALATED].count,
            "bot_resolved": sums[Metric.BOT_RESOLVED].count,
            "handed_over": sums[Metric.HANDED_OVER].count,
            "open_now": open_conversations(slice_).count(),
        },
        "messages": {"in": sums[Metric.MESSAGES_IN].count, "out": sums[Metric.MESSAGES_OUT].count},
    }
    exact = percentiles(buckets, since, until, slice_)
    for metric in Metric.DURATIONS:
        p = exact[metric]
        result[metric] = {
            "count": sums[metric].count,
            "mean": mean_of(metric, sums[metric]),
            "median": p[50],
            "p90": p[90],
        }
    csat, resolved = sums[Metric.CSAT], sums[Metric.RESOLVED].count
    result["csat"] = {
        "responses": csat.count,
        "score_percent": 100 * csat.positive / csat.count if csat.count else None,
        "mean": mean_of(Metric.CSAT, csat),
        "response_rate": csat.count / resolved if resolved else None,
    }
    result["nps"] = nps_of(sums[Metric.NPS])
    result["self_service"] = self_service(since, until)
    result["campaigns"] = {
        "shown": invitations_shown(since, until, slice_).count(),
        "answered": sums[Metric.CAMPAIGN_ANSWERED].count,
        "conversations": sums[Metric.CAMPAIGN_CONVERSATION].count,
    }
    result["waiting_now"] = waiting_now(slice_)
    result["computed_at"] = timezone.now().isoformat()
    return result


def self_service(since: datetime, until: datetime) -> dict[str, Any]:
    """The help center's figures, for the whole helpdesk (articles belong to no team, agent
    or channel): article views of the days the period touches (views are counted per day),
    "helpful" votes cast in the period, and suggestion sessions `deflected`: followed by
    no conversation within DEFLECTION_WINDOW, counted when that window closed in the period
    (docs/reports.md)."""
    last_day = (until - timedelta(microseconds=1)).date()
    views = ArticleViews.objects.filter(day__gte=since.date(), day__lte=last_day)
    helpful = ArticleFeedback.objects.filter(
        helpful=True, created_at__gte=since, created_at__lt=until
    )
    return {
        "article_views": views.aggregate(total=Sum("views"))["total"] or 0,
        "helpful": helpful.count(),
        "deflected": deflected(since, until).count(),
    }


def deflected(since: datetime, until: datetime) -> QuerySet[SuggestionSession]:
    """Suggestion sessions whose window closed in [since, until) (and before now: a window
    still open may yet see a conversation) without a conversation. Read from their own table
    over an index of their own, like NPS answers without a conversation: nothing to rebuild."""
    closes_by = min(until, timezone.now())
    return SuggestionSession.objects.filter(
        converted_at__isnull=True,
        shown_at__gte=since - DEFLECTION_WINDOW,
        shown_at__lt=closes_by - DEFLECTION_WINDOW,
    )


def invitations_shown(since: datetime, until: datetime, slice_: Slice) -> QuerySet[CampaignShown]:
    """Campaign invitations shown in [since, until): counted from their own rows (no
    conversation, so no event log), credited like the campaign's answers to its team and its
    sender agent, on the web channel."""
    shown = CampaignShown.objects.filter(at__gte=since, at__lt=until)
    if slice_.channel is not None and slice_.channel != Channel.WEB:
        return shown.none()
    if slice_.team is not None:
        shown = shown.filter(campaign__team_id=slice_.team)
    if slice_.agent is not None:
        shown = shown.filter(campaign__sender_id=slice_.agent)
    return shown


def nps_score(entry: Totals) -> float | None:
    """% promoters − % detractors, from −100 to 100; None without answers."""
    return 100 * (entry.positive - entry.negative) / entry.count if entry.count else None


def nps_of(entry: Totals) -> dict[str, Any]:
    return {
        "responses": entry.count,
        "promoters": entry.positive,
        "passives": entry.count - entry.positive - entry.negative,
        "detractors": entry.negative,
        "score": nps_score(entry),
    }


def open_conversations(slice_: Slice) -> QuerySet[Conversation]:
    # Named statuses rather than "not resolved": PostgreSQL can then count from an index.
    open_statuses = [status for status in Status.values if status != Status.RESOLVED]
    conversations = Conversation.objects.filter(status__in=open_statuses)
    if slice_.team is not None:
        conversations = conversations.filter(team_id=slice_.team)
    if slice_.agent is not None:
        conversations = conversations.filter(assignee_id=slice_.agent)
    if slice_.channel is not None:
        conversations = conversations.filter(channel=slice_.channel)
    if slice_.inbox is not None:
        conversations = conversations.filter(inbox_id=slice_.inbox)
    return conversations


def waiting_now(slice_: Slice) -> dict[str, Any]:
    waiting = open_conversations(slice_).filter(waiting_since__isnull=False)
    oldest = waiting.order_by("waiting_since").values_list("waiting_since", flat=True).first()
    return {
        "count": waiting.count(),
        "longest_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
        "since": oldest.isoformat() if oldest else None,
    }


# --- Time series -----------------------------------------------------------------------------

INTERVALS = ("hour", "day", "week", "month")
TRUNCATE = {"hour": TruncHour, "day": TruncDay, "week": TruncWeek, "month": TruncMonth}
METRICS = (*Metric.DURATIONS, Metric.CSAT, Metric.NPS, *Metric.COUNTS)


def interval_start(moment: datetime, interval: str, tz: ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    if interval == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if interval == "week":
            local -= timedelta(days=local.weekday())
        elif interval == "month":
            local = local.replace(day=1)
    return local.replace(tzinfo=None).replace(tzinfo=tz)  # normalise DST offset


def timeseries(
    metric: str, interval: str, tz: ZoneInfo, since: datetime, until: datetime, slice_: Slice
) -> dict[str, Any]:
    """Points of [since, until), each the interval's count and value (mean, CSAT % or count)."""
    points: dict[datetime, Totals] = defaultdict(Totals)
    first_hour, last_hour = _ceil(since, hour_of, HOUR), hour_of(until)
    hourly = (
        MetricRollup.objects.filter(
            rows_q(slice_),
            granularity="hour",
            metric=metric,
            start__gte=first_hour,
            start__lt=last_hour,
        )
        .values("start")
        .annotate(**ROLLUP_SUMS)
    )
    for row in hourly:
        entry = points[interval_start(row["start"], interval, tz)]
        entry.count += row["count"]
        entry.total += row["total"]
        entry.positive += row["positive"]
        entry.negative += row["negative"]
    edges = (
        [(since, min(first_hour, until)), (max(last_hour, since), until)]
        if first_hour < last_hour
        else [(since, until)]
    )
    edge_q = _raw_q(Segments(raw=[(s, e) for s, e in edges if s < e]))
    for at, value in MetricFact.objects.filter(edge_q, slice_.q(), metric=metric).values_list(
        "at", "value"
    ):
        points[interval_start(at, interval, tz)].add(metric, value)
    if metric == Metric.NPS and slice_ == Slice():
        truncate = TRUNCATE[interval]("created_at", tzinfo=tz)
        answers = nps_without_conversation(since, until).annotate(start=truncate)
        for row in answers.values("start").annotate(**NPS_SUMS).order_by():
            points[interval_start(row["start"], interval, tz)].merge(_nps_totals(row))
    return {
        "metric": metric,
        "interval": interval,
        "tz": str(tz),
        "points": [
            {"start": start.isoformat(), "value": _point_value(metric, entry), "count": entry.count}
            for start, entry in sorted(
                _with_empty_points(points, interval, tz, since, until).items()
            )
        ],
    }


def _point_value(metric: str, entry: Totals) -> float | int | None:
    if metric in Metric.COUNTS:
        return entry.count
    if metric == Metric.CSAT:
        return 100 * entry.positive / entry.count if entry.count else None
    if metric == Metric.NPS:
        return nps_score(entry)
    return mean_of(metric, entry)


def _with_empty_points(
    points: dict[datetime, Totals], interval: str, tz: ZoneInfo, since: datetime, until: datetime
) -> dict[datetime, Totals]:
    """Every interval of the range, so a chart shows quiet periods as zero, not as gaps."""
    filled = dict(points)
    cursor = interval_start(since, interval, tz)
    while cursor < until and len(filled) < 5000:
        filled.setdefault(cursor, Totals())
        cursor = _next_interval(cursor, interval, tz)
    return filled


def _next_interval(start: datetime, interval: str, tz: ZoneInfo) -> datetime:
    if interval == "hour":
        return (start.astimezone(UTC) + HOUR).astimezone(tz)
    if interval == "day":
        return interval_start(start + timedelta(days=1, hours=2), "day", tz)
    if interval == "week":
        return interval_start(start + timedelta(days=7, hours=2), "week", tz)
    return interval_start((start.replace(day=28) + timedelta(days=5)), "month", tz)


# --- Agents ----------------------------------------------------------------------------------

AGENT_METRICS = (
    Metric.RESOLVED,
    Metric.HANDLE,
    Metric.CSAT,
    Metric.NPS,
    Metric.FIRST_RESPONSE,
    Metric.MESSAGES_OUT,
)


def agent_table(since: datetime, until: datetime, slice_: Slice) -> list[dict[str, Any]]:
    """One row per agent credited with something in [since, until), busiest first.

    Resolutions, handle time, CSAT and NPS are credited to the agent who resolved (DESIGN.md),
    replies and first responses to the agent who wrote them. One grouped query over the
    rollups, plus the raw facts of the minutes at the range's edges.
    """
    segments = split_range(since, until)
    per_agent: dict[int, dict[str, Totals]] = defaultdict(lambda: defaultdict(Totals))
    rollups = (
        MetricRollup.objects.filter(
            _rollup_q(segments), slice_.q(), metric__in=AGENT_METRICS, agent_id__gt=0
        )
        .values("agent_id", "metric")
        .annotate(**ROLLUP_SUMS)
    )
    for row in rollups:
        per_agent[row["agent_id"]][row["metric"]] = Totals(
            row["count"], row["total"], row["positive"], row["negative"]
        )
    if segments.raw:
        facts = (
            MetricFact.objects.filter(_raw_q(segments), slice_.q(), metric__in=AGENT_METRICS)
            .exclude(agent_id=0)
            .values_list("agent_id", "metric", "value")
        )
        for agent_id, metric, value in facts:
            per_agent[agent_id][metric].add(metric, value)
    users = get_user_model().objects.select_related("public_profile").in_bulk(list(per_agent))
    rows = [_agent_row(agent_id, users.get(agent_id), sums) for agent_id, sums in per_agent.items()]
    rows.sort(key=_busiest_first)
    return rows


def _agent_row(agent_id: int, user: Any, sums: dict[str, Totals]) -> dict[str, Any]:
    csat = sums[Metric.CSAT]
    return {
        "agent": {
            "id": agent_id,
            "name": user_name(user) if user else "",
            "email": user.email if user else "",
        },
        "resolved": sums[Metric.RESOLVED].count,
        "replies": sums[Metric.MESSAGES_OUT].count,
        "handle_time": {
            "count": sums[Metric.HANDLE].count,
            "mean": mean_of(Metric.HANDLE, sums[Metric.HANDLE]),
        },
        "first_response_time": {
            "count": sums[Metric.FIRST_RESPONSE].count,
            "mean": mean_of(Metric.FIRST_RESPONSE, sums[Metric.FIRST_RESPONSE]),
        },
        "csat": {
            "responses": csat.count,
            "score_percent": 100 * csat.positive / csat.count if csat.count else None,
            "mean": mean_of(Metric.CSAT, csat),
        },
        "nps": nps_of(sums[Metric.NPS]),
    }


def _busiest_first(row: dict[str, Any]) -> tuple:
    handle = row["handle_time"]["mean"]
    return (-row["resolved"], handle if handle is not None else math.inf, row["agent"]["name"])
