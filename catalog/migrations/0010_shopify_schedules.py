"""Create the Shopify ingestion schedules (reconciliation, webhook sweeper) in Django-Q2."""

from django.db import migrations


def create_schedules(apps, schema_editor):
    """Nothing: schedules live in one registry that ``manage.py ensure_schedules`` applies (galantis.schedules)."""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_shopify_ingestion"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
