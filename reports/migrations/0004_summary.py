"""Indexes for the summary's exact percentiles: facts in (metric, bucket, value) order, so a
rank is an index walk without a sort; histogram bucket counts as an index-only scan."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_rebuild'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='metricfact',
            name='fact_metric_bucket_at_covering',
        ),
        migrations.RemoveIndex(
            model_name='metrichistogram',
            name='histogram_wide',
        ),
        migrations.AddIndex(
            model_name='metricfact',
            index=models.Index(fields=['metric', 'bucket', 'value'], include=('at', 'team_id', 'agent_id', 'channel'), name='fact_metric_bucket_value'),
        ),
        migrations.AddIndex(
            model_name='metrichistogram',
            index=models.Index(condition=models.Q(('agent_id', -1), ('channel', '*')), fields=['metric', 'team_id', 'bucket', 'day'], include=('count',), name='histogram_wide_bucket'),
        ),
    ]
