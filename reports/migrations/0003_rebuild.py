"""Covering indexes for the reports' reads, and histogram rows for each team and for everyone."""

from django.db import migrations, models
from django.db.models import Sum

EVERY_ID, EVERY_CHANNEL = -1, "*"  # as reports.services (frozen here, as migrations should be)


def add_wide_histogram_rows(apps, schema_editor):
    """Existing histograms get the per-team and everyone rows services.histogram_slices adds."""
    histogram = apps.get_model("reports", "MetricHistogram")
    remove_wide_histogram_rows(apps, schema_editor)
    own = histogram.objects.filter(agent_id__gte=0).exclude(channel=EVERY_CHANNEL)
    rows = []
    for group in (("team_id",), ()):
        sums = own.values("metric", "day", "bucket", *group).annotate(n=Sum("count"))
        for row in sums.iterator():
            rows.append(
                histogram(
                    metric=row["metric"],
                    day=row["day"],
                    bucket=row["bucket"],
                    team_id=row.get("team_id", EVERY_ID),
                    agent_id=EVERY_ID,
                    channel=EVERY_CHANNEL,
                    count=row["n"],
                )
            )
    histogram.objects.bulk_create(rows, batch_size=2000)


def remove_wide_histogram_rows(apps, schema_editor):
    histogram = apps.get_model("reports", "MetricHistogram")
    histogram.objects.filter(agent_id=EVERY_ID, channel=EVERY_CHANNEL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_report_export"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="metricfact", name="fact_metric_at"),
        migrations.RemoveIndex(model_name="metricfact", name="fact_metric_bucket_at"),
        migrations.AddIndex(
            model_name="metricfact",
            index=models.Index(
                fields=["metric", "at"],
                include=("bucket", "value", "team_id", "agent_id", "channel"),
                name="fact_metric_at_covering",
            ),
        ),
        migrations.AddIndex(
            model_name="metricfact",
            index=models.Index(
                fields=["metric", "bucket", "at"],
                include=("value", "team_id", "agent_id", "channel"),
                name="fact_metric_bucket_at_covering",
            ),
        ),
        migrations.RunPython(add_wide_histogram_rows, remove_wide_histogram_rows),
    ]
