# A screenshot mode is stored in thumbs' own words ("time-points", "interval"); ZEGO's Type names stay at the edge.

from django.db import migrations, models

RENAMES = {"SnapshotByTimeOffset": "time-points", "SampleSnapshot": "interval"}


def forwards(apps, schema_editor):
    Task = apps.get_model("dashboard", "Task")
    for old, new in RENAMES.items():
        Task.objects.filter(mode=old).update(mode=new)


def backwards(apps, schema_editor):
    Task = apps.get_model("dashboard", "Task")
    for old, new in RENAMES.items():
        Task.objects.filter(mode=new).update(mode=old)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0003_file_id_prefix_index")]

    operations = [
        migrations.AlterField(
            model_name="task",
            name="mode",
            field=models.CharField(choices=[("time-points", "Time points"), ("interval", "Interval")], max_length=32),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
