# Push on change (issue 22): the per-catalog push request that coalesces changes across
# workers, and the per-batch timings the health page's freshness is read from.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0021_product_shopify_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="PushRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pending_since", models.DateTimeField(blank=True, null=True)),
                ("requested_at", models.DateTimeField(blank=True, null=True)),
                ("queued_at", models.DateTimeField(blank=True, null=True)),
                ("last_push_at", models.DateTimeField(blank=True, null=True)),
                ("last_push_calls", models.PositiveSmallIntegerField(default=0)),
                ("confirm_queued_at", models.DateTimeField(blank=True, null=True)),
                (
                    "catalog",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="push_request", to="catalog.catalog"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalog.tenant"
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.AddField(
            model_name="syncbatch",
            name="changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="syncbatch",
            name="volatile_claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="syncbatch",
            index=models.Index(fields=["catalog", "sent_at"], name="syncbatch_catalog_sent"),
        ),
    ]
