"""The daily Meta token check as a Django-Q2 schedule (schedules are code, not admin clicks)."""

from django.db import migrations
from django.utils import timezone

SCHEDULE_NAME = "Check Meta catalog tokens (daily)"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "catalog.tasks.check_meta_tokens",
            "schedule_type": "D",  # Schedule.DAILY
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_connection_settings"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
