"""PostgreSQL only: a covering LIKE-prefix index, so the history's File ID prefix probe reads ids from the
index alone. SQLite needs none: its file_id index already carries the rowid."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS task_file_id_prefix_incl_id "
    "ON dashboard_task (file_id varchar_pattern_ops) INCLUDE (id)"
)
DROP = "DROP INDEX IF EXISTS task_file_id_prefix_incl_id"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_roles")]
    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
