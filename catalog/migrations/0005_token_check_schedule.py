"""The daily Meta token check as a Django-Q2 schedule (schedules are code, not admin clicks)."""

from django.db import migrations

SCHEDULE_NAME = "Check Meta catalog tokens (daily)"


def create_schedule(apps, schema_editor):
    """Nothing: schedules live in one registry that ``manage.py ensure_schedules`` applies (galantis.schedules)."""


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_connection_settings"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
