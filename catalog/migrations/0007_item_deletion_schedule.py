"""Send queued Meta item deletions (ids replaced on import, orphans a merchant chose) every 10 minutes."""

from django.db import migrations

SCHEDULE_NAME = "Send queued Meta item deletions (every 10 minutes)"


def create_schedule(apps, schema_editor):
    """Nothing: schedules live in one registry that ``manage.py ensure_schedules`` applies (galantis.schedules)."""


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_item_deletion_goes_first"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
