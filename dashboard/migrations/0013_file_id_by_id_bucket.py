"""An index on (id / 16384, file_id): File ID prefix matches bucket by bucket of 16,384 ids, so that the
history finds the newest matches of a prefix whose matches are all old by seeking each bucket in between,
instead of walking every row since (dashboard/selectors.py, PREFIX_BUCKET, must use the same 16384).
PostgreSQL gets the LIKE-prefix operator class and the id as an included column, so it reads ids from
the index alone; SQLite's index carries the rowid already."""

from django.db import migrations

DROP = "DROP INDEX IF EXISTS task_id_bucket_file_id"
CREATE = {
    "postgresql": "CREATE INDEX IF NOT EXISTS task_id_bucket_file_id "
    "ON dashboard_task ((id / 16384), file_id varchar_pattern_ops) INCLUDE (id)",
    "sqlite": "CREATE INDEX IF NOT EXISTS task_id_bucket_file_id ON dashboard_task ((id / 16384), file_id)",
}


def create(apps, schema_editor):
    schema_editor.execute(CREATE[schema_editor.connection.vendor])


def drop(apps, schema_editor):
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0012_pacing_slot")]
    operations = [migrations.RunPython(create, drop)]
