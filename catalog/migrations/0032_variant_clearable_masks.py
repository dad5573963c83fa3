"""Which clearable optional fields a variant's payload, its payload in flight and Meta's copy carry.

An update-only feed row cannot clear a field (an empty cell means "no change"), so an item
Meta holds is SYNCED from one only when Meta holds no field its payload lacks.

Existing rows: what Meta holds of them is not known, so ``held_mask`` starts as every
clearable field (the column is added with that default, then the default for new rows
becomes 0: a new variant is held by nobody). That is conservative without blocking
ordinary syncing: the Batch API (which clears) and replace feeds (which replace the whole
item) carry such items as before and record exactly what Meta then holds; only an
update-only upload leaves them to those, until one of them has carried the item once.
``payload_mask`` and ``in_flight_mask`` start at 0 ("carries none"), which is conservative
too for the update-feed check; whatever is sent records the fields it really carried.
"""

from django.db import migrations, models

# catalog.items.ALL_CLEARABLE when this migration was written (23 fields); a literal, as
# migrations never import the app's code.
ALL_CLEARABLE = (1 << 23) - 1


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0031_variantevent_after_live_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="variant",
            name="payload_mask",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="variant",
            name="in_flight_mask",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="variant",
            name="held_mask",
            field=models.BigIntegerField(default=ALL_CLEARABLE, editable=False),
        ),
        migrations.AlterField(
            model_name="variant",
            name="held_mask",
            field=models.BigIntegerField(default=0, editable=False),
        ),
    ]
