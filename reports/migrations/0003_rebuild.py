"""Covering indexes for the reports' reads; rollup and histogram rows for each team and everyone."""

from django.db import migrations, models
from django.db.models import Sum

EVERY_ID, EVERY_CHANNEL = -1, "*"  # as reports.services (frozen here, as migrations should be)
WIDE = {"team_id": EVERY_ID, "agent_id": EVERY_ID, "channel": EVERY_CHANNEL}


def add_wide_rows(apps, schema_editor):
    """Existing rollups and histograms get the rows services.rows_of_slice adds."""
    remove_wide_rows(apps, schema_editor)
    for name, keys, sums in (
        ("MetricRollup", ("granularity", "start", "metric"), ("count", "total", "positive")),
        ("MetricHistogram", ("day", "metric", "bucket"), ("count",)),
    ):
        model = apps.get_model("reports", name)
        own = model.objects.filter(agent_id__gte=0).exclude(channel=EVERY_CHANNEL)
        rows = []
        for group in (("team_id",), ()):
            totals = own.values(*keys, *group).annotate(**{f"sum_{f}": Sum(f) for f in sums})
            for row in totals.iterator():
                fields = {key: row[key] for key in (*keys, *group)}
                fields.update({f: row[f"sum_{f}"] for f in sums})
                rows.append(model(**(WIDE | fields)))
        model.objects.bulk_create(rows, batch_size=2000)


def remove_wide_rows(apps, schema_editor):
    for name in ("MetricRollup", "MetricHistogram"):
        model = apps.get_model("reports", name)
        model.objects.filter(agent_id=EVERY_ID, channel=EVERY_CHANNEL).delete()


# Text columns the reports index and sort by compare byte-wise on PostgreSQL: the database's
# default collation (e.g. C.UTF-8) sorts through strcoll and without abbreviated keys, which
# made building the rebuild's indexes several times slower. Equality is the same either way.
# Not in the models (db_collation): SQLite has no "C" collation. A later AlterField of these
# columns would reset it to the default; the rebuild copies whatever the live tables have.
BYTEWISE = {
    "reports_metricfact": {"metric": 24, "channel": 32},
    "reports_metricrollup": {"granularity": 4, "metric": 24, "channel": 32},
    "reports_metrichistogram": {"metric": 24, "channel": 32},
}


def collate_bytewise(apps, schema_editor, collation='"C"'):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in BYTEWISE.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE varchar({length}) COLLATE {collation}"
            for column, length in columns.items()
        )
        schema_editor.execute(f"ALTER TABLE {table} {changes}")


def collate_by_default(apps, schema_editor):
    collate_bytewise(apps, schema_editor, collation="pg_catalog.default")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_report_export"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="metricfact", name="fact_metric_at"),
        migrations.RemoveIndex(model_name="metricfact", name="fact_metric_bucket_at"),
        migrations.RunPython(collate_bytewise, collate_by_default),
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
        migrations.AddIndex(
            model_name="metricrollup",
            index=models.Index(
                condition=models.Q(("agent_id", -1)),
                fields=["granularity", "metric", "team_id", "start"],
                name="rollup_wide",
            ),
        ),
        migrations.AddIndex(
            model_name="metrichistogram",
            index=models.Index(
                condition=models.Q(("agent_id", -1)),
                fields=["metric", "team_id", "day"],
                name="histogram_wide",
            ),
        ),
        migrations.RunPython(add_wide_rows, remove_wide_rows),
    ]
