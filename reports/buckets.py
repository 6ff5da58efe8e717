"""How a fact is filed: its rollup rows, histogram bucket and integer amount.

Shared by the incremental path (services), the full rebuild (rebuild) and the readers
(selectors), so that the three file every value the same way; it imports none of them.
"""

import math
from datetime import UTC, datetime

from .metrics import Metric

LOCK_NAMESPACE = 7207  # advisory locks (namespace, conversation id); (namespace, 0): full rebuild
EVERY_ID, EVERY_CHANNEL = -1, "*"  # rows that count every team / agent / channel
BUCKET_BASE = math.log(1.05)  # duration buckets are 5% wide: exact percentiles read one bucket


def value_bucket(metric: str, value: float) -> int:
    """A bucket that grows with the value (monotonic), for duration metrics; 0 otherwise."""
    if metric not in Metric.DURATIONS or value < 1:
        return 0
    return int(math.log(value) / BUCKET_BASE) + 1


def rollup_amount(metric: str, value: float) -> int:
    """What a value adds to a rollup's integer total: microseconds for durations."""
    return round(value * 1_000_000) if metric in Metric.DURATIONS else round(value)


PROMOTER, DETRACTOR = 9, 6  # NPS: promoters answer 9 or 10, detractors 0 to 6


def favourable(metric: str, value: float) -> int:
    """1 for a CSAT rating of 4 or 5 or an NPS promoter: what a rollup's `positive` counts."""
    return int(
        (metric == Metric.CSAT and value >= 4) or (metric == Metric.NPS and value >= PROMOTER)
    )


def unfavourable(metric: str, value: float) -> int:
    """1 for an NPS detractor: what a rollup's `negative` counts."""
    return int(metric == Metric.NPS and value <= DETRACTOR)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
