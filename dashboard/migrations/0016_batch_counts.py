"""A batch's progress without reading its items: each item keeps its attempt's state, the batch keeps how
many of its items ended succeeded, failed or unknown, and two indexes give the few items sending,
cancelled or skipped, and the last minute's sends. Batches that exist take their counts here."""

from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery

COUNTS = {"succeeded": "succeeded_count", "failed": "failed_count", "unknown": "unknown_count"}


def count_existing(apps, schema_editor):
    Attempt = apps.get_model("dashboard", "Attempt")
    Batch = apps.get_model("dashboard", "Batch")
    BatchItem = apps.get_model("dashboard", "BatchItem")
    BatchItem.objects.filter(attempt__isnull=False).update(
        state=Subquery(Attempt.objects.filter(pk=OuterRef("attempt_id")).values("state")[:1])
    )
    ended = BatchItem.objects.filter(state__in=COUNTS).values_list("batch_id", "state").annotate(n=Count("id"))
    for batch_id, state, n in ended.order_by():
        Batch.objects.filter(pk=batch_id).update(**{COUNTS[state]: n})


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0015_overview_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="failed_count",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="batch",
            name="succeeded_count",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="batch",
            name="unknown_count",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="batchitem",
            name="state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("succeeded", "Accepted by ZEGO"),
                    ("failed", "Failed"),
                    ("unknown", "Unknown"),
                    ("cancelled", "Cancelled"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.RunPython(count_existing, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="batchitem",
            index=models.Index(fields=["batch", "status", "state"], name="batchitem_progress"),
        ),
        migrations.AddIndex(
            model_name="batchitem",
            index=models.Index(fields=["batch", "sent_at"], name="batchitem_sent"),
        ),
    ]
