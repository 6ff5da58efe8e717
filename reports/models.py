"""What reports read: one row per measured value, and rollups of those rows.

- MetricFact: every value facts_for() produced, with the moment it completes and its slices.
- MetricRollup: count / sum / favourable and unfavourable answers per hour and per UTC day
  and slice, so means, counts, CSAT and NPS over any range are a small sum.
- MetricHistogram: per UTC day and slice, how many duration values fall in each value bucket,
  so an exact median or p90 needs only the facts of one bucket (see reports/selectors.py).
  Each value also counts in its team's row and everyone's (team, agent and inbox -1,
  channel "*").

All three are derived from the event log and can be rebuilt from it at any time.

- ReportExport: a CSV export a manager asked for, filled by a Celery job (reports/export.py).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .metrics import Metric


class MetricFact(models.Model):
    conversation_id = models.BigIntegerField(_("conversation"), db_index=True)
    cycle = models.PositiveIntegerField(_("cycle"))
    metric = models.CharField(_("metric"), max_length=24)
    at = models.DateTimeField(_("at"))
    value = models.FloatField(_("value"))
    bucket = models.SmallIntegerField(_("value bucket"))
    team_id = models.BigIntegerField(_("team"), default=0)  # 0: none
    agent_id = models.BigIntegerField(_("agent"), default=0)  # 0: none
    channel = models.CharField(_("channel"), max_length=32)
    inbox_id = models.BigIntegerField(_("inbox"), default=0)  # 0: none (imported history)

    class Meta:
        verbose_name = _("metric value")
        verbose_name_plural = _("metric values")
        # Covering (INCLUDE): a report reads the values and slices from the index alone.
        # Time first: a rebuild sorts 14 M facts by these keys, and with the metric first
        # (ten values, so nearly every comparison is a tie that goes on to the next column)
        # that sort took four times as long. Reads are short spans of time at a range's edges.
        indexes = [
            models.Index(
                fields=["at", "metric"],
                include=["bucket", "value", "team_id", "agent_id", "channel", "inbox_id"],
                name="fact_at_metric_covering",
            ),
            # A percentile walks one bucket of one duration in value order to the wanted rank,
            # from the nearer end (selectors._values_at_ranks): no sort of the bucket. One
            # index per duration (the only metrics with percentiles), for the same reason.
            *(
                models.Index(
                    fields=["bucket", "value"],
                    include=["at", "team_id", "agent_id", "channel", "inbox_id"],
                    condition=models.Q(metric=metric),
                    name=f"fact_{metric}_value",
                )
                for metric in Metric.DURATIONS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value}"


class Granularity(models.TextChoices):
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class MetricRollup(models.Model):
    granularity = models.CharField(_("granularity"), max_length=4, choices=Granularity.choices)
    start = models.DateTimeField(_("start"))
    metric = models.CharField(_("metric"), max_length=24)
    team_id = models.BigIntegerField(_("team"), default=0)
    agent_id = models.BigIntegerField(_("agent"), default=0)
    channel = models.CharField(_("channel"), max_length=32)
    inbox_id = models.BigIntegerField(_("inbox"), default=0)
    count = models.BigIntegerField(_("count"), default=0)
    total = models.FloatField(_("sum"), default=0)
    # buckets.favourable / unfavourable: CSAT ratings of 4 or 5 and NPS promoters (9–10);
    # NPS detractors (0–6).
    positive = models.BigIntegerField(_("favourable answers"), default=0)
    negative = models.BigIntegerField(_("unfavourable answers"), default=0)

    class Meta:
        verbose_name = _("metric rollup")
        verbose_name_plural = _("metric rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "granularity",
                    "metric",
                    "start",
                    "team_id",
                    "agent_id",
                    "channel",
                    "inbox_id",
                ],
                name="rollup_slice_unique",
            )
        ]
        indexes = [  # the team's and everyone's rows (services.rows_of_slice)
            models.Index(
                fields=["granularity", "metric", "team_id", "start"],
                condition=models.Q(agent_id=-1),
                name="rollup_wide",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.granularity} {self.start:%Y-%m-%d %H:%M}"


class MetricHistogram(models.Model):
    day = models.DateTimeField(_("day"))
    metric = models.CharField(_("metric"), max_length=24)
    team_id = models.BigIntegerField(_("team"), default=0)
    agent_id = models.BigIntegerField(_("agent"), default=0)
    channel = models.CharField(_("channel"), max_length=32)
    inbox_id = models.BigIntegerField(_("inbox"), default=0)
    bucket = models.SmallIntegerField(_("value bucket"))
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("metric histogram bin")
        verbose_name_plural = _("metric histogram bins")
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "day", "team_id", "agent_id", "channel", "inbox_id", "bucket"],
                name="histogram_bin_unique",
            )
        ]
        # The team's and everyone's rows (services.rows_of_slice), in (metric, bucket) order
        # and covering: a report's bucket counts are an index-only scan, grouped without a sort.
        indexes = [
            models.Index(
                fields=["metric", "team_id", "bucket", "day"],
                include=["count"],
                condition=models.Q(agent_id=-1, channel="*"),
                name="histogram_wide_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.day:%Y-%m-%d} #{self.bucket}"


class ReportCursor(models.Model):
    """How far the incremental task has read the event log (a single row)."""

    cursor = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("report cursor")

    def __str__(self) -> str:
        return str(self.cursor)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportExport(models.Model):
    """A CSV export a manager asked for; the Celery job fills `content` (re-running overwrites)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="report_exports",
        verbose_name=_("owner"),
    )
    params = models.JSONField(_("parameters"), default=dict)  # since, until, tz, slice, interval
    status = models.CharField(
        _("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    content = models.TextField(_("CSV"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.status})"
