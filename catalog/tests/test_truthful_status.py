"""What we tell a merchant about an item is what Meta holds and says (real HTTP against the sandbox)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import item_state
from catalog.models import Catalog, Product, SyncBatch, Variant
from catalog.sync import push
from catalog.tests.factories import ProductFactory, VariantFactory
from catalog.tests.test_sync_e2e import catalog, meta, meta_items, push_and_confirm  # noqa: F401 (fixtures)
from diagnostics.verdicts import poll_verdicts

pytestmark = pytest.mark.django_db(transaction=True)
Status = Variant.SyncStatus


def _variant(catalog, *, title="Linen Shirt", image="https://cdn.example.com/linen.jpg", **fields) -> Variant:  # noqa: F811
    product = ProductFactory(
        tenant=catalog.tenant,
        store=catalog.store,
        title=title,
        description_html="<p>A breathable linen shirt for warm days.</p>",
        images=[{"id": 1, "src": image}],
    )
    variant = VariantFactory(product=product, catalog=catalog, **fields)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    return variant


def _reprice(variant: Variant, price: str) -> Variant:
    """What a products/update webhook does: store Shopify's value, then refresh."""
    Variant.objects.filter(pk=variant.pk).update(price=Decimal(price))
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    variant.refresh_from_db()
    return variant


def _sync_status(catalog) -> dict:  # noqa: F811
    out = StringIO()
    call_command("sync_status", "--tenant", catalog.tenant.slug, "--json", stdout=out)
    return json.loads(out.getvalue().splitlines()[0])


def test_a_sale_repriced_to_zero_is_never_sent_and_metas_copy_is_hidden(catalog):  # noqa: F811
    on_sale = _variant(catalog, price=Decimal("30.00"), compare_at_price=Decimal("41.99"))
    push_and_confirm(catalog)
    assert meta_items(catalog)[on_sale.retailer_id]["visibility"] == "published"

    on_sale = _reprice(on_sale, "0.00")
    assert (on_sale.meta_status, on_sale.failure_source) == (Status.FAILED, Variant.FailureSource.LOCAL)
    assert "sale price" in on_sale.last_error and "price above zero" in on_sale.last_error_fix

    push_and_confirm(catalog)
    held = meta_items(catalog)[on_sale.retailer_id]
    # Meta keeps the old item (and its learnings) but hidden; the zero price never reached it.
    assert held["visibility"] == "staging"
    on_sale.refresh_from_db()
    assert on_sale.meta_status == Status.FAILED and on_sale.visibility == "staging"
    state = _sync_status(catalog)
    assert (state["failed"], state["synced"], state["verdict"]["live"]) == (1, 0, 0)

    push_and_confirm(catalog)  # hidden once: nothing more to send until it is fixed
    assert SyncBatch.objects.filter(catalog=catalog).count() == 2

    on_sale = _reprice(on_sale, "25.00")
    push_and_confirm(catalog)
    on_sale.refresh_from_db()
    assert on_sale.meta_status == Status.SYNCED
    assert meta_items(catalog)[on_sale.retailer_id]["visibility"] == "published"


def test_a_sale_that_ended_leaves_metas_item_without_its_sale_price(catalog):  # noqa: F811
    """Found by ``python -m bench chaos`` (webhook_burst): Meta's UPDATE keeps fields it is not sent."""
    on_sale = _variant(catalog, price=Decimal("30.00"), compare_at_price=Decimal("41.99"))
    push_and_confirm(catalog)
    assert meta_items(catalog)[on_sale.retailer_id]["sale_price"] == "$30.00"

    Variant.objects.filter(pk=on_sale.pk).update(compare_at_price=None)  # the sale ended in Shopify
    item_state.refresh_variants(Variant.objects.filter(pk=on_sale.pk))
    push_and_confirm(catalog)
    on_sale.refresh_from_db()
    held = meta_items(catalog)[on_sale.retailer_id]
    assert on_sale.meta_status == Status.SYNCED
    assert (held["price"], held.get("sale_price")) == ("$30.00", None)


def test_a_colour_and_category_removed_in_shopify_leave_metas_item_too(catalog):  # noqa: F811
    from catalog.meta.client import GraphClient

    variant = _variant(catalog, options={"Color": "Sage"})
    Product.objects.filter(pk=variant.product_id).update(google_product_category="Apparel & Accessories")
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    Variant.objects.filter(pk=variant.pk).update(options={})
    Product.objects.filter(pk=variant.product_id).update(google_product_category="")
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    push_and_confirm(catalog)
    held = next(
        GraphClient(catalog.connection.access_token).paginate(
            f"{catalog.meta_catalog_id}/products",
            fields="retailer_id,color,category",
            filter=json.dumps({"retailer_id": {"eq": variant.retailer_id}}),
        )
    )
    assert held.get("color") in (None, "") and held.get("category") in (None, "")


def test_an_invalid_item_that_slipped_past_refresh_is_stopped_at_send_time(catalog):  # noqa: F811
    # Data changed without a refresh (e.g. written by an older release): PENDING with a zero price.
    new = _variant(catalog, price=Decimal("12.00"))
    Variant.objects.filter(pk=new.pk).update(price=Decimal("0"))
    result = push_and_confirm(catalog)
    new.refresh_from_db()
    assert (new.meta_status, new.failure_source) == (Status.FAILED, Variant.FailureSource.LOCAL)
    assert new.retailer_id not in meta_items(catalog)  # never created in Meta
    assert result.batches  # it was claimed, and stopped at the gate


def test_an_item_rejected_in_review_is_synced_but_not_visible_with_its_reason(catalog):  # noqa: F811
    fine = _variant(catalog)
    replica = _variant(catalog, title="Replica Leather Bag")  # the sandbox's review rejects "replica"
    broken_image = _variant(catalog, title="Canvas Tote", image="https://cdn.example.com/broken-tote.jpg")
    push_and_confirm(catalog)
    assert _sync_status(catalog)["verdict"]["in_review"] == 3  # accepted, review not read yet

    report = poll_verdicts(catalog, push.client_for(catalog))
    assert report.calls <= 2
    replica.refresh_from_db()
    assert replica.meta_status == Status.SYNCED and replica.verdict == Variant.Verdict.REJECTED
    assert "Meta's review rejected it (COUNTERFEIT)" in item_state.not_visible_reason(replica)
    broken_image.refresh_from_db()
    assert broken_image.verdict == Variant.Verdict.NOT_VISIBLE
    assert "cannot fetch its image" in item_state.not_visible_reason(broken_image)
    fine.refresh_from_db()
    assert fine.verdict == Variant.Verdict.LIVE and fine.channel_review.get("whatsapp") == "APPROVED"
    state = _sync_status(catalog)
    assert {k: state[k] for k in ("pending", "synced", "failed", "excluded")} == {
        "pending": 0,
        "synced": 3,
        "failed": 0,
        "excluded": 0,
    }
    assert state["verdict"] == {"live": 1, "not_visible": 2, "in_review": 0, "rejected": 1}
    assert "counts" in state and "failed_by_meta" in state  # the earlier keys stay


def test_a_live_item_meta_stops_showing_is_read_again_and_shown_as_not_visible(catalog):  # noqa: F811
    from sandbox.models import ProductItem

    fine = _variant(catalog)
    push_and_confirm(catalog)
    poll_verdicts(catalog, push.client_for(catalog))
    fine.refresh_from_db()
    assert fine.verdict == Variant.Verdict.LIVE
    # Later Meta can no longer fetch its image: nothing tells us unless we ask.
    ProductItem.objects.filter(retailer_id=fine.retailer_id).update(image_fetch_status="FETCH_FAILED")

    report = poll_verdicts(catalog, push.client_for(catalog))

    fine.refresh_from_db()
    assert report.looked_up == 1
    assert fine.verdict == Variant.Verdict.NOT_VISIBLE
    assert "cannot fetch its image" in item_state.not_visible_reason(fine)


def test_live_items_keep_a_share_of_the_lookups_while_many_others_change(catalog):  # noqa: F811
    from diagnostics import verdicts

    live = _variant(catalog)
    push_and_confirm(catalog)
    poll_verdicts(catalog, push.client_for(catalog))
    assert Variant.objects.get(pk=live.pk).verdict == Variant.Verdict.LIVE
    for _ in range(3):
        _variant(catalog)
    push_and_confirm(catalog)  # three new items in review
    checked = Variant.objects.get(pk=live.pk).verdict_checked_at

    # A budget of one call: the live share takes it (the changing items wait for the next run).
    assert verdicts.LIVE_LOOKUPS_PER_RUN >= 1
    report = poll_verdicts(catalog, push.client_for(catalog), max_lookups=1)

    assert report.looked_up == 1
    assert Variant.objects.get(pk=live.pk).verdict_checked_at > checked
    assert Variant.objects.filter(catalog=catalog, verdict=Variant.Verdict.IN_REVIEW).count() == 3


def test_many_items_waiting_for_a_verdict_raise_the_lookups_up_to_the_cap(catalog, monkeypatch, settings):  # noqa: F811
    """A first sync's items are read in hours, not weeks: the budget follows the waiting items, capped."""
    from diagnostics import verdicts

    monkeypatch.setattr(verdicts, "LOOKUP_BATCH", 1)  # one item a lookup: five items need five calls
    monkeypatch.setattr(verdicts, "MAX_LOOKUPS_PER_RUN", 1)
    monkeypatch.setattr(verdicts, "LIVE_LOOKUPS_PER_RUN", 1)
    settings.VERDICT_MAX_LOOKUPS_PER_RUN = 3
    for _ in range(5):
        _variant(catalog)
    push_and_confirm(catalog)
    assert verdicts.lookups_for(catalog) == 3  # 5 waiting + the live share, capped

    report = poll_verdicts(catalog, push.client_for(catalog))
    assert report.looked_up == 2  # three calls: two for the waiting items, one kept for live ones (none yet)
    settings.VERDICT_MAX_LOOKUPS_PER_RUN = 100
    assert verdicts.lookups_for(catalog) == 4  # the 3 still in review + the live share
    poll_verdicts(catalog, push.client_for(catalog))
    assert not Variant.objects.filter(catalog=catalog, verdict=Variant.Verdict.IN_REVIEW).exists()
    assert verdicts.lookups_for(catalog) == 1  # calm again: the calm budget


def test_an_expired_token_pauses_before_any_write(catalog, settings):  # noqa: F811
    from sandbox import faults

    settings.META_TOKEN_RECHECK_SECONDS = 0
    _variant(catalog)
    faults.configure(token=catalog.connection.access_token, expires_at=timezone.now() - timedelta(seconds=1))
    report = push.push_catalog(catalog)
    catalog.refresh_from_db()
    assert catalog.pause_kind == Catalog.PauseKind.AUTH and "expired" in catalog.paused_reason
    assert report.batches == [] and report.skipped_reason.startswith("paused")
    assert not SyncBatch.objects.filter(catalog=catalog).exists()  # nothing was claimed, nothing written
    assert Variant.objects.filter(catalog=catalog, meta_status=Status.PENDING).count() == 1  # kept


def test_rows_of_an_upload_that_broke_off_half_way_are_not_claimed_synced(catalog, settings):  # noqa: F811
    """Found by ``python -m bench chaos`` (feed_upload_fails)."""
    from catalog.sync import run

    variants = [_variant(catalog) for _ in range(5)]
    settings.SANDBOX_FEED_FAIL_AFTER_ROWS = 2  # Meta's session ends with an error after two rows
    run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    held = meta_items(catalog)
    states = {v.retailer_id: Variant.objects.get(pk=v.pk).meta_status for v in variants}
    assert len(held) == 2
    assert {rid for rid, state in states.items() if state == Status.SYNCED} == set(held)
    assert sorted(states.values()).count(Status.PENDING) == 3  # the unread rows go again

    settings.SANDBOX_FEED_FAIL_AFTER_ROWS = 0
    push_and_confirm(catalog)
    assert set(meta_items(catalog)) == set(states)
    assert set(Variant.objects.filter(catalog=catalog).values_list("meta_status", flat=True)) == {Status.SYNCED}


def test_feed_rows_meta_rejected_beyond_its_samples_are_not_claimed_synced(catalog, monkeypatch):  # noqa: F811
    from catalog.sync import feeds, run

    monkeypatch.setattr(feeds, "SAMPLES_PER_ERROR", 3)  # Meta names a few rows per error, not all
    good = [_variant(catalog) for _ in range(2)]
    # Pass our checks, refused by Meta (an image host without a domain name).
    bad = [_variant(catalog, image=f"http://intranet/{n}.jpg") for n in range(8)]
    run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)
    for v in good:  # new to Meta and held by it now: read back, so confirmed
        v.refresh_from_db()
        assert v.meta_status == Status.SYNCED
    states = {v.pk: Variant.objects.get(pk=v.pk) for v in bad}
    named = [v for v in states.values() if v.meta_status == Status.FAILED]
    unnamed = [v for v in states.values() if v.meta_status == Status.PENDING]
    assert len(named) == 3 and len(unnamed) == 5  # none of the eight is SYNCED
    assert all(v.failure_source == Variant.FailureSource.META_FEED for v in named + unnamed)
    assert all("without naming them" in v.last_error for v in unnamed)

    push_and_confirm(catalog)  # the Batch API names every rejected item
    assert set(Variant.objects.filter(pk__in=[v.pk for v in bad]).values_list("meta_status", flat=True)) == {
        Status.FAILED
    }


# --- Auto-hold: a version Meta rejected is not sent again until it changes --------------------


def _rejected_by_meta(catalog) -> Variant:  # noqa: F811
    # Passes our checks (an http address) but Meta's image host rule refuses a host without a dot.
    bad = _variant(catalog, image="http://intranet/image.png")
    push_and_confirm(catalog)
    bad.refresh_from_db()
    assert (bad.meta_status, bad.failure_source) == (Status.FAILED, Variant.FailureSource.META_BATCH)
    assert bad.failed_hash == bad.payload_hash
    return bad


def test_a_version_meta_rejected_is_left_out_of_the_next_replace_feeds(catalog):  # noqa: F811
    from catalog.sync import run

    fine, bad = _variant(catalog), _rejected_by_meta(catalog)
    run.sync_now(catalog, mode="replace_feed", wait=True, timeout=60)

    feed = SyncBatch.objects.filter(catalog=catalog, kind=SyncBatch.Kind.REPLACE_FEED).latest("pk")
    assert feed.item_count == 1  # the fine item only: the held one would only be rejected again
    bad.refresh_from_db()
    assert (bad.meta_status, bad.last_error_code) == (Status.FAILED, "META_REJECTED")  # Meta's message kept
    assert fine.retailer_id in meta_items(catalog) and bad.retailer_id not in meta_items(catalog)


def test_a_change_releases_the_hold_and_going_back_holds_it_again(catalog):  # noqa: F811
    bad = _rejected_by_meta(catalog)
    rejected_price = str(bad.price)
    fixed = _reprice(bad, "25.00")  # a new version (the image is still refused, but it is new data)
    assert fixed.meta_status == Status.PENDING

    back = _reprice(fixed, rejected_price)  # exactly the version Meta rejected
    assert (back.meta_status, back.last_error_code) == (Status.FAILED, item_state.HELD_CODE)
    assert "holds it" in back.last_error and back.last_error_fix
    batches = SyncBatch.objects.filter(catalog=catalog).count()
    push_and_confirm(catalog)
    assert SyncBatch.objects.filter(catalog=catalog).count() == batches  # nothing sent


def test_a_staff_retry_lifts_the_hold(catalog):  # noqa: F811
    bad = _rejected_by_meta(catalog)
    assert item_state.retry_meta_failures(Variant.objects.filter(pk=bad.pk)) == 1
    bad.refresh_from_db()
    assert (bad.meta_status, bad.failed_hash) == (Status.PENDING, "")
    push_and_confirm(catalog)  # sent again, as staff asked
    bad.refresh_from_db()
    assert bad.meta_status == Status.FAILED and bad.last_error_code == "META_REJECTED"
