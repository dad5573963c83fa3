"""The per-item timeline (issue 19 part 1): written in bulk, paged by keyset, retained for a period."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog import item_state, timeline
from catalog.models import ReReviewRequest, SyncBatch, Variant, VariantEvent, shard_key_for
from catalog.sync import claim, results
from catalog.tests.factories import CatalogFactory, ProductFactory, VariantEventFactory, VariantFactory

pytestmark = pytest.mark.django_db
Kind = VariantEvent.Kind


def bulk_variants(catalog, n: int) -> None:
    """``n`` valid PENDING variants of one product, inserted in bulk (factories are too slow for 5,000)."""
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    rows = []
    for k in range(n):
        rid = str(70_000_000_000 + catalog.pk * 100_000 + k)
        variant = Variant(
            tenant=catalog.tenant,
            product=product,
            catalog=catalog,
            shopify_variant_id=int(rid),
            retailer_id=rid,
            shard_key=shard_key_for(rid),
            title=f"Size {k}",
            options={"Size": str(k)},
            price=Decimal("10.00"),
            inventory_quantity=3,
        )
        item_state.refresh_variant(variant, product, catalog.store)
        rows.append(variant)
    Variant.objects.bulk_create(rows, batch_size=500)


# -- written in bulk ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [50, 5000])
def test_a_5000_item_batch_writes_its_events_in_a_constant_number_of_statements(size, django_assert_num_queries):
    catalog = CatalogFactory(max_batch_size=5000)
    bulk_variants(catalog, size)
    # The same count at 50 and 5,000 items: the claim (claim.claim_items_batch, whose shard lock
    # and batch rows cost the same whatever the size) plus one INSERT ... SELECT of the events.
    with django_assert_num_queries(CLAIM_QUERIES[connection.vendor]) as claimed:
        batch = claim.claim_items_batch(catalog, 0)
    assert batch.item_count == size
    # savepoint, the batch's conditional exit, aggregate, INSERT ... SELECT of the events, accepted
    # UPDATE, batch row, catalog row, release, and the look for a change that waited for the shard.
    with django_assert_num_queries(9) as confirmed:
        results.finish(batch, state=SyncBatch.State.FINISHED)
    inserts = [
        q["sql"]
        for q in [*claimed.captured_queries, *confirmed.captured_queries]
        if "INSERT INTO" in q["sql"] and "variantevent" in q["sql"]
    ]
    assert len(inserts) == 2  # one for the claim, one for Meta's answer: never one per item
    events = VariantEvent.objects.filter(catalog_id=catalog.pk, batch_id=batch.pk)
    assert events.filter(kind=Kind.SENT).count() == size
    assert events.filter(kind=Kind.ACCEPTED).count() == size


# PostgreSQL adds the claim's SELECT ... FOR UPDATE SKIP LOCKED.
CLAIM_QUERIES = {"sqlite": 10, "postgresql": 11}


def test_a_rejection_and_a_change_in_flight_are_on_the_items_timeline():
    catalog = CatalogFactory()
    bulk_variants(catalog, 3)
    bad, changed, fine = Variant.objects.filter(catalog=catalog).order_by("pk")
    batch = claim.claim_items_batch(catalog, 0)
    Variant.objects.filter(pk=changed.pk).update(price=Decimal("12.00"))
    item_state.refresh_variants(Variant.objects.filter(pk=changed.pk))
    results.finish(batch, state=SyncBatch.State.FINISHED, rejected={bad.retailer_id: "Invalid GTIN"})

    def kinds(v):
        return list(VariantEvent.objects.for_variant(v.pk).order_by("at", "id").values_list("kind", flat=True))

    assert kinds(bad) == [Kind.SENT, Kind.REJECTED]
    assert VariantEvent.objects.get(variant_id=bad.pk, kind=Kind.REJECTED).message == "Invalid GTIN"
    assert kinds(changed) == [Kind.SENT, Kind.CHANGED, Kind.ACCEPTED_STALE]
    assert kinds(fine) == [Kind.SENT, Kind.ACCEPTED]


def test_a_verdict_read_again_unchanged_writes_no_event():
    catalog = CatalogFactory()
    variant = VariantFactory(catalog=catalog, product__tenant=catalog.tenant, meta_status=Variant.SyncStatus.SYNCED)
    live = item_state.ItemVerdict(
        retailer_id=variant.retailer_id,
        review_status="approved",
        visibility="published",
        image_fetch_status="FETCHED",
        channel_review=(("whatsapp", "APPROVED"),),
    )
    item_state.record_verdicts(catalog.pk, [live])
    item_state.record_verdicts(catalog.pk, [live])  # the next poll reads the same
    rejected = item_state.ItemVerdict(
        retailer_id=variant.retailer_id,
        review_status="rejected",
        rejection_reasons=("COUNTERFEIT",),
        visibility="published",
    )
    item_state.record_verdicts(catalog.pk, [rejected])
    events = list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id"))
    assert [e.kind for e in events] == [Kind.LIVE, Kind.REVIEW_REJECTED]
    assert events[0].detail["whatsapp"] == "APPROVED" and events[1].message == "COUNTERFEIT"


def _live(retailer_id: str, whatsapp: str = "") -> item_state.ItemVerdict:
    return item_state.ItemVerdict(
        retailer_id=retailer_id,
        review_status="approved",
        visibility="published",
        image_fetch_status="FETCHED",
        channel_review=(("whatsapp", whatsapp),) if whatsapp else (),
    )


def test_a_whatsapp_capability_change_under_the_same_verdict_is_its_own_event():
    catalog = CatalogFactory()
    variant = VariantFactory(catalog=catalog, product__tenant=catalog.tenant, meta_status=Variant.SyncStatus.SYNCED)
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "PENDING")])
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "APPROVED")])  # still live
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "APPROVED")])  # read again: nothing
    events = list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id"))
    assert [e.kind for e in events] == [Kind.LIVE, Kind.WHATSAPP]
    assert events[1].detail["whatsapp"] == "APPROVED" and events[1].message == "WhatsApp was PENDING"
    assert events[1].summary.startswith("Meta's WhatsApp capability changed")


def test_a_whatsapp_capability_meta_stops_reporting_is_an_event_too():
    catalog = CatalogFactory()
    variant = VariantFactory(catalog=catalog, product__tenant=catalog.tenant, meta_status=Variant.SyncStatus.SYNCED)
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id)])  # no WhatsApp capability yet
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "APPROVED")])
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id)])
    events = list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id"))
    assert [(e.kind, e.message) for e in events] == [
        (Kind.LIVE, ""),
        (Kind.WHATSAPP, "WhatsApp was not reported"),
        (Kind.WHATSAPP, "WhatsApp was APPROVED"),
    ]


def test_a_verdict_change_with_a_whatsapp_change_is_one_verdict_event():
    catalog = CatalogFactory()
    variant = VariantFactory(catalog=catalog, product__tenant=catalog.tenant, meta_status=Variant.SyncStatus.SYNCED)
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "APPROVED")])
    item_state.record_verdicts(catalog.pk, [_live(variant.retailer_id, "REJECTED")])  # WhatsApp rejected: not visible
    kinds = list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id").values_list("kind", flat=True))
    assert kinds == [Kind.LIVE, Kind.NOT_VISIBLE]


@pytest.mark.parametrize("size", [50, 1000])
def test_whatsapp_changes_of_many_items_are_one_insert_per_reading(size, django_assert_num_queries):
    catalog = CatalogFactory()
    bulk_variants(catalog, size)
    Variant.objects.filter(catalog=catalog).update(meta_status=Variant.SyncStatus.SYNCED)
    ids = list(Variant.objects.filter(catalog=catalog).values_list("retailer_id", flat=True))
    item_state.record_verdicts(catalog.pk, [_live(rid, "PENDING") for rid in ids])
    # Per chunk of 500 retailer ids: the events' INSERT ... SELECT and the verdict UPDATE.
    with django_assert_num_queries(2 * -(-size // item_state.WRITE_BATCH)) as read:
        item_state.record_verdicts(catalog.pk, [_live(rid, "APPROVED") for rid in ids])
    assert sum("INSERT INTO" in q["sql"] for q in read.captured_queries) == -(-size // item_state.WRITE_BATCH)
    assert VariantEvent.objects.filter(catalog_id=catalog.pk, kind=Kind.WHATSAPP).count() == size


# -- paged by keyset ------------------------------------------------------------------------------


def test_the_timeline_of_a_variant_with_100000_events_pages_by_keyset(django_assert_num_queries):
    variant = VariantFactory()
    other = VariantFactory(tenant=variant.tenant, product=variant.product)
    start = timezone.now() - timedelta(days=10)
    rows = [
        VariantEvent(
            tenant_id=variant.tenant_id,
            variant_id=variant.pk,
            product_id=variant.product_id,
            kind=Kind.SENT,
            at=start + timedelta(seconds=n // 2),
            batch_id=n,
        )  # two events a second
        for n in range(100_000)
    ] + [VariantEvent(tenant_id=other.tenant_id, variant_id=other.pk, kind=Kind.SENT, at=start) for _ in range(500)]
    VariantEvent.objects.bulk_create(rows, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_variantevent")

    with django_assert_num_queries(1):  # one query of 51 rows, no COUNT, no OFFSET
        first = timeline.variant_page(variant)
    assert [e.batch_id for e in first.events] == list(range(99_999, 99_949, -1))
    with django_assert_num_queries(1):
        second = timeline.variant_page(variant, first.next_cursor)
    # Keyset on (at, id): ties of the same second are neither skipped nor repeated.
    assert [e.batch_id for e in second.events] == list(range(99_949, 99_899, -1))

    plan = (
        VariantEvent.objects.for_tenant(variant.tenant_id)
        .for_variant(variant.pk)
        .newest_first()
        .before(first.events[-1].at, first.events[-1].pk)[:51]
        .explain()
    )
    assert "variantevent_variant_at" in plan  # an index range scan, never a sort of 100,000 rows


def test_the_last_page_has_no_cursor_and_a_bad_cursor_shows_the_first_page():
    variant = VariantFactory()
    VariantEventFactory.create_batch(3, variant=variant)
    page = timeline.variant_page(variant, "not-a-cursor")
    assert len(page.events) == 3 and page.next_cursor == ""


# -- retained for a period ------------------------------------------------------------------------


def test_events_older_than_the_retention_period_are_purged(settings):
    settings.TIMELINE_RETENTION_DAYS = 30
    variant = VariantFactory()
    old = VariantEventFactory(variant=variant, at=timezone.now() - timedelta(days=31))
    kept = VariantEventFactory(variant=variant, at=timezone.now() - timedelta(days=29))
    assert timeline.purge_expired() == 1
    assert list(VariantEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not VariantEvent.objects.filter(pk=old.pk).exists()


def test_the_purge_is_scheduled():
    from catalog.sync.schedule import SCHEDULES

    assert ("catalog.tasks.purge_timeline", 60) in [(every.func, every.minutes) for every in SCHEDULES]


# -- shown to staff and merchants -----------------------------------------------------------------


def _variant_with_history(tenant, n: int = 3) -> Variant:
    variant = VariantFactory(tenant=tenant, product__tenant=tenant, title="Blue / M")
    start = timezone.now() - timedelta(hours=1)
    for k in range(n):
        VariantEventFactory(
            variant=variant,
            kind=Kind.SENT,
            batch_id=900 + k,
            detail={"via": "ITEMS_BATCH"},
            at=start + timedelta(minutes=k),
        )
    VariantEventFactory(
        variant=variant, kind=Kind.REVIEW_REJECTED, message="COUNTERFEIT", at=start + timedelta(minutes=n)
    )
    return variant


def test_the_variant_and_product_admin_pages_show_the_timeline(staff_client, tenant):
    variant = _variant_with_history(tenant, n=12)
    page = staff_client.get(reverse("admin:catalog_variant_change", args=[variant.pk])).content.decode()
    assert "Meta&#x27;s verdict: rejected in review" in page and "COUNTERFEIT" in page
    assert "in items batch #911" in page and "in items batch #901" not in page  # the newest ten only
    full = reverse("admin:catalog_variant_timeline", args=[variant.pk])
    assert full in page
    first = staff_client.get(full)
    assert first.status_code == 200 and "in items batch #900" in first.content.decode()
    product_page = staff_client.get(reverse("admin:catalog_product_change", args=[variant.product_id]))
    assert "Blue / M" in product_page.content.decode() and "COUNTERFEIT" in product_page.content.decode()


def test_the_timeline_view_is_tenant_scoped(staff_client, other_tenant):
    theirs = _variant_with_history(other_tenant)
    assert staff_client.get(reverse("admin:catalog_variant_timeline", args=[theirs.pk])).status_code == 404


def test_the_merchant_product_page_shows_its_history_newest_first(owner_client, tenant, other_tenant):
    variant = _variant_with_history(tenant)
    page = owner_client.get(reverse("health:product", args=[variant.product_id])).content.decode()
    history = page.split('data-testid="timeline"', 1)[1]
    assert history.index("COUNTERFEIT") < history.index("#902") < history.index("#900")
    theirs = _variant_with_history(other_tenant)
    assert owner_client.get(reverse("health:product", args=[theirs.product_id])).status_code == 404


def test_a_whatsapp_capability_event_has_a_clear_label_on_the_admin_and_merchant_product_pages(
    staff_client, owner_client, tenant
):
    variant = VariantFactory(tenant=tenant, product__tenant=tenant)
    VariantEventFactory(
        variant=variant, kind=Kind.WHATSAPP, detail={"whatsapp": "APPROVED"}, message="WhatsApp was PENDING"
    )
    for page in (
        staff_client.get(reverse("admin:catalog_product_change", args=[variant.product_id])),
        owner_client.get(reverse("health:product", args=[variant.product_id])),
    ):
        assert "WhatsApp capability changed · WhatsApp APPROVED: WhatsApp was PENDING" in page.content.decode()


def test_staff_edits_are_on_the_timeline_with_who_and_what(staff_client, staff_user, tenant):
    from catalog.tests.admin.formdata import changeform_data

    variant = VariantFactory(tenant=tenant, product__tenant=tenant, sku="OLD-1")
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    data = changeform_data(staff_client.get(url), sku="NEW-1")
    assert staff_client.post(url, data).status_code == 302
    edit = VariantEvent.objects.get(variant_id=variant.pk, kind=Kind.STAFF_EDIT)
    assert edit.detail == {"by": staff_user.get_username(), "fields": ["sku"]}


def test_request_another_review_queues_only_rejected_items(staff_client, tenant, django_capture_on_commit_callbacks):
    catalog = CatalogFactory(tenant=tenant)
    rejected = VariantFactory(
        catalog=catalog,
        product__tenant=tenant,
        meta_status=Variant.SyncStatus.SYNCED,
        verdict=Variant.Verdict.REJECTED,
        review_status="rejected",
    )
    live = VariantFactory(
        catalog=catalog, product__tenant=tenant, meta_status=Variant.SyncStatus.SYNCED, verdict=Variant.Verdict.LIVE
    )
    with django_capture_on_commit_callbacks() as queued_tasks:
        response = staff_client.post(
            reverse("admin:catalog_variant_changelist"),
            {
                "action": "request_another_review",
                "_selected_action": [rejected.pk, live.pk],
            },
        )
    assert response.status_code == 302
    assert list(ReReviewRequest.objects.values_list("variant_id", "reason")) == [
        (rejected.pk, ReReviewRequest.Reason.STAFF)
    ]
    assert VariantEvent.objects.filter(variant_id=rejected.pk, kind=Kind.REREVIEW_QUEUED).exists()
    assert len(queued_tasks) == 1  # one re-review task for the catalog; Meta is not called inline
