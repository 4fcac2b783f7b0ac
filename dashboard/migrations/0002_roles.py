"""The two roles: viewer (browse history) and operator (also submit and retry)."""

from django.db import migrations

ROLES = {
    "viewer": ["view_task", "view_attempt"],
    "operator": ["view_task", "view_attempt", "submit_task", "retry_task"],
}


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    names = {
        "view_task": ("task", "Can view task"),
        "view_attempt": ("attempt", "Can view attempt"),
        "submit_task": ("task", "Can submit screenshot tasks"),
        "retry_task": ("task", "Can retry screenshot tasks"),
    }
    # Permissions are normally created after migrate; create them now so the groups can hold them.
    perms = {}
    for codename, (model, label) in names.items():
        ct, _ = ContentType.objects.get_or_create(app_label="dashboard", model=model)
        perms[codename], _ = Permission.objects.get_or_create(
            content_type=ct, codename=codename, defaults={"name": label}
        )
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(perms[c] for c in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
