"""The catalog's admin page shows its freshness of the last hour and the Batch API budget spent (issue 22)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from catalog.models import SyncBatch
from catalog.tests.factories import CatalogFactory

pytestmark = pytest.mark.django_db


def test_catalog_page_shows_p95_and_calls_this_hour(admin_client, settings):
    settings.SYNC_BATCH_CALLS_PER_HOUR = 50
    catalog = CatalogFactory()
    now = timezone.now().replace(minute=30)
    with time_machine.travel(now, tick=False):
        for seconds in (3, 4, 5, 40):  # the p95 of four calls is the slowest
            SyncBatch.objects.create(
                tenant=catalog.tenant,
                catalog=catalog,
                state=SyncBatch.State.FINISHED,
                changed_at=now - timedelta(seconds=100),
                sent_at=now - timedelta(seconds=100 - seconds),
                finished_at=now - timedelta(seconds=90 - seconds),
            )
        html = admin_client.get(reverse("admin:catalog_catalog_change", args=[catalog.pk])).content.decode()
    assert "Freshness (last hour)" in html
    assert "change → sent 40.0 s, → confirmed 50.0 s (p95 of 4 calls)" in html
    assert "Batch API calls this hour: 4 of 50 (8%)" in html


def test_catalog_page_without_pushes_says_so(admin_client):
    catalog = CatalogFactory()
    html = admin_client.get(reverse("admin:catalog_catalog_change", args=[catalog.pk])).content.decode()
    assert "no change pushed in the last hour; Batch API calls this hour: 0 of" in html
