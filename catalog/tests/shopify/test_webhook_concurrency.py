"""Two drains of one store at once (two task clusters) still end in Shopify's newest state.

A drain deletes its store's drain request before it reads the events, so a delivery
arriving meanwhile queues the next drain, which another cluster may run while the first
is still busy: the upsert, not the drain, must order versions. Found by the fault suite
(issue 15, ``webhook_burst`` on Redis with two clusters: 43 of 200 variants kept an older
price, the newest event PROCESSED): a drain compared an older version with the row as it
was before a concurrent drain committed the newest one, and wrote it after that commit.

PostgreSQL only: SQLite opens every transaction with ``BEGIN IMMEDIATE``, so two writers
never interleave there.
"""

import threading
import time

import pytest
from django.db import connection, connections

from catalog.models import Variant, WebhookEvent
from catalog.shopify import upsert, webhook_handlers, webhooks

from .payloads import dumps, rest_product, rest_variant, webhook_headers

URL = "/shopify/webhooks/"
# One Shopify version second for all three: only the trigger times order them, as in a
# burst of price changes within a second (Shopify's updated_at counts whole seconds).
UPDATED_AT = "2025-03-04T10:00:00-05:00"

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite never interleaves two writers")


def _post(client, store, n: int, price: str, triggered_at: str) -> int:
    body = dumps(rest_product(1, [rest_variant(10, 1, price=price, updated_at=UPDATED_AT)], updated_at=UPDATED_AT))
    headers = webhook_headers(
        store, "products/update", body, event_id=f"evt-{n}", webhook_id=f"wh-{n}", triggered_at=triggered_at
    )
    assert client.post(URL, data=body, content_type="application/json", **headers).status_code == 200
    return WebhookEvent.objects.get(event_id=f"evt-{n}").pk


def _wait_for_a_lock_wait(timeout: float = 10) -> bool:
    """True once another backend of this database waits on a lock (the second drain is blocked)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_older_version_drained_while_the_newest_commits_does_not_overwrite_it(client, store, catalog, monkeypatch):
    _post(client, store, 1, "10.00", "2025-03-04T15:00:01Z")
    webhooks.drain(store.pk)
    newest = _post(client, store, 2, "30.00", "2025-03-04T15:00:03Z")
    older = _post(client, store, 3, "20.00", "2025-03-04T15:00:02Z")

    written, release, errors = threading.Event(), threading.Event(), []
    real_refresh = upsert.refresh_changed

    def refresh_then_hold(*args, **kwargs):
        # The newest version is written, its transaction still open: the other drain runs now.
        count = real_refresh(*args, **kwargs)
        if threading.current_thread().name == "drain-of-the-newest":
            written.set()
            release.wait(10)
        return count

    monkeypatch.setattr(upsert, "refresh_changed", refresh_then_hold)

    def drain_events(event_pk: int) -> None:
        try:
            webhooks.process_product_events(store.pk, [event_pk])
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=drain_events, args=(newest,), name="drain-of-the-newest")
    second = threading.Thread(target=drain_events, args=(older,), name="drain-of-an-older-one")
    first.start()
    try:
        assert written.wait(10)
        second.start()
        # Blocked on the first drain's locks: on the variant row it is about to overwrite
        # (the bug), or on the store before it reads anything (the fix).
        assert _wait_for_a_lock_wait()
    finally:
        release.set()
        first.join(10)
        if second.ident is not None:  # started
            second.join(10)
    assert errors == []

    variant = Variant.objects.get(shopify_variant_id=10)
    assert variant.price == 30
    done = {WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED}
    assert set(WebhookEvent.objects.filter(pk__in=[newest, older]).values_list("state", flat=True)) <= done


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_older_stock_level_applied_while_the_newest_commits_does_not_overwrite_it(
    client, store, catalog, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    from catalog import item_state

    _post(client, store, 1, "10.00", "2025-03-04T15:00:01Z")
    webhooks.drain(store.pk)
    variants = Variant.objects.filter(shopify_variant_id=10)
    t0 = datetime(2025, 3, 4, 15, 0, 5, tzinfo=UTC)
    written, release, errors = threading.Event(), threading.Event(), []
    real_refresh = item_state.refresh_variants

    def refresh_then_hold(*args, **kwargs):
        count = real_refresh(*args, **kwargs)
        if threading.current_thread().name == "newest-stock":
            written.set()
            release.wait(10)
        return count

    monkeypatch.setattr(item_state, "refresh_variants", refresh_then_hold)

    def apply(quantity: int, observed_at) -> None:
        try:
            level = {"variant": {"inventoryQuantity": quantity}, "tracked": True}
            webhook_handlers._apply_stock(variants, level, observed_at)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=apply, args=(5, t0 + timedelta(seconds=2)), name="newest-stock")
    second = threading.Thread(target=apply, args=(9, t0 + timedelta(seconds=1)), name="older-stock")
    first.start()
    try:
        assert written.wait(10)
        second.start()
        assert _wait_for_a_lock_wait()  # the older level waits for the newest one's commit
    finally:
        release.set()
        first.join(10)
        if second.ident is not None:
            second.join(10)
    assert errors == []
    assert variants.get().inventory_quantity == 5
