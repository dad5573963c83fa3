"""Rejected after live, and the re-review queue: real HTTP against the sandbox Graph API (issue 19)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts import digest
from alerts.models import Alert, Digest, Kind
from catalog import item_state, rereview, tenants
from catalog.graph_clients import client_for
from catalog.models import Membership, ReReviewRequest, Variant, VariantEvent
from catalog.tests.factories import ProductFactory, UserFactory, VariantFactory
from catalog.tests.test_sync_e2e import catalog, meta, push_and_confirm  # noqa: F401 (fixtures)
from diagnostics.verdicts import poll_verdicts

pytestmark = pytest.mark.django_db(transaction=True)
Event = VariantEvent.Kind
Verdict = Variant.Verdict


def _variant(catalog, title: str = "Linen Shirt") -> Variant:  # noqa: F811
    product = ProductFactory(
        tenant=catalog.tenant,
        store=catalog.store,
        title=title,
        description_html="<p>A breathable linen shirt for warm days.</p>",
        images=[{"id": 1, "src": "https://cdn.example.com/linen.jpg"}],
    )
    variant = VariantFactory(product=product, catalog=catalog)
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    return variant


def _poll(catalog) -> None:  # noqa: F811
    poll_verdicts(catalog, client_for(catalog))


def _meta_rejects(variant: Variant, outcome: str = "rejected") -> None:
    """Meta's review rejects the item it holds (a later review, not our data)."""
    from sandbox.models import ProductItem

    ProductItem.objects.filter(retailer_id=variant.retailer_id).update(review_status="rejected", review_outcome=outcome)


def _kinds(variant: Variant) -> list[str]:
    return list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id").values_list("kind", flat=True))


def _verdict_counts(catalog) -> dict:  # noqa: F811
    out = StringIO()
    call_command("sync_status", "--tenant", catalog.tenant.slug, "--json", stdout=out)
    return json.loads(out.getvalue().splitlines()[0])["verdict"]


def test_an_item_rejected_after_it_was_live_is_on_its_timeline_counted_and_in_the_next_digest(catalog):  # noqa: F811
    owner = UserFactory(username="owner-rl", email="owner@rejected-live.example")
    tenants.add_member(catalog.tenant, owner, role=Membership.Role.OWNER)
    item, first_rejected = _variant(catalog), _variant(catalog, title="Replica Leather Bag")
    push_and_confirm(catalog)
    _poll(catalog)
    item.refresh_from_db()
    assert item.verdict == Verdict.LIVE
    start = timezone.now()
    digest.build_for_tenant(catalog.tenant, now=start)  # rejected at its first review: never live, no alert
    assert not Alert.objects.filter(kind=Kind.REJECTED, resolved_at__isnull=True).exists()

    _meta_rejects(item)
    _poll(catalog)

    item.refresh_from_db()
    assert item.verdict == Verdict.REJECTED
    assert _kinds(item) == [Event.CHANGED, Event.SENT, Event.ACCEPTED, Event.LIVE, Event.REVIEW_REJECTED]
    assert VariantEvent.objects.get(variant_id=item.pk, kind=Event.REVIEW_REJECTED).message == "COUNTERFEIT"
    assert _verdict_counts(catalog) == {"live": 0, "not_visible": 2, "in_review": 0, "rejected": 2}
    new = digest.build_for_tenant(catalog.tenant, now=timezone.now() + timedelta(hours=1))
    assert isinstance(new, Digest) and new.recipients == ["owner@rejected-live.example"]
    [alert] = Alert.objects.filter(kind=Kind.REJECTED, resolved_at__isnull=True)
    assert alert.pk in new.alert_ids and alert.title.startswith("1 item of")
    assert item.retailer_id in alert.message and first_rejected.retailer_id not in alert.message


def test_an_item_no_longer_visible_after_it_was_live_is_in_the_next_digest_and_one_still_live_is_not(catalog):  # noqa: F811
    from django.utils import translation

    from sandbox.models import ProductItem

    owner = UserFactory(username="owner-nv", email="owner@not-visible.example")
    tenants.add_member(catalog.tenant, owner, role=Membership.Role.OWNER)
    item, still_live = _variant(catalog), _variant(catalog, title="Linen Trousers")
    push_and_confirm(catalog)
    _poll(catalog)
    digest.build_for_tenant(catalog.tenant, now=timezone.now())  # both live: nothing to say
    assert not Alert.objects.filter(kind=Kind.NOT_VISIBLE, resolved_at__isnull=True).exists()

    # Later Meta can no longer fetch the image of one of them (not a review rejection).
    ProductItem.objects.filter(retailer_id=item.retailer_id).update(image_fetch_status="FETCH_FAILED")
    _poll(catalog)

    item.refresh_from_db()
    still_live.refresh_from_db()
    assert (item.verdict, still_live.verdict) == (Verdict.NOT_VISIBLE, Verdict.LIVE)
    assert _kinds(item)[-2:] == [Event.LIVE, Event.NOT_VISIBLE]
    new = digest.build_for_tenant(catalog.tenant, now=timezone.now() + timedelta(hours=1))
    assert isinstance(new, Digest) and new.recipients == ["owner@not-visible.example"]
    [alert] = Alert.objects.filter(kind=Kind.NOT_VISIBLE, resolved_at__isnull=True)
    assert alert.pk in new.alert_ids and alert.title == f"1 item of {catalog.name} no longer visible after being live"
    assert f"- {item.retailer_id}: Meta cannot fetch the image" in alert.message
    assert still_live.retailer_id not in alert.message
    assert "state=hidden" in alert.fix_url and alert.fix_label == "See the items no longer shown and why"
    assert not Alert.objects.filter(kind=Kind.REJECTED, resolved_at__isnull=True).exists()  # not a review rejection
    with translation.override("fr"):
        assert alert.display_title == f"1 article de {catalog.name} n’est plus visible après avoir été en ligne"
        assert f"{item.retailer_id} : Meta ne parvient pas à récupérer l’image" in alert.display_message
    # The next run says nothing new: one alert, deduplicated, not in another digest this period.
    assert digest.build_for_tenant(catalog.tenant, now=timezone.now() + timedelta(hours=1, minutes=1)) is None
    assert Alert.objects.filter(kind=Kind.NOT_VISIBLE).count() == 1


def test_a_fixed_item_meta_still_rejects_is_reviewed_again_and_the_outcome_is_on_its_timeline(catalog):  # noqa: F811
    item = _variant(catalog, title="Replica Linen Shirt")
    push_and_confirm(catalog)
    _poll(catalog)
    # Fixed in Shopify and accepted again; Meta's review still rejects it (it kept its decision).
    item.product.title = "Linen Shirt"
    item.product.save()
    item_state.refresh_variants(Variant.objects.filter(pk=item.pk))
    push_and_confirm(catalog)
    _meta_rejects(item, outcome="rejected")
    _poll(catalog)
    item.refresh_from_db()
    assert item.verdict == Verdict.REJECTED

    report = rereview.run(catalog)  # what the hourly task does

    assert (report.calls, report.sent) == (1, 1)
    request = ReReviewRequest.objects.get(variant=item)
    assert (request.state, request.reason) == (ReReviewRequest.State.SENT, ReReviewRequest.Reason.FIXED)
    _poll(catalog)  # Meta's additional review of the item as it is now: approved
    item.refresh_from_db()
    assert item.verdict == Verdict.LIVE
    assert _kinds(item)[-4:] == [Event.REVIEW_REJECTED, Event.REREVIEW_QUEUED, Event.REREVIEW_SENT, Event.LIVE]
    assert rereview.run(catalog).calls == 0  # once per item: nothing more to ask


def test_the_re_review_queue_respects_its_limits(catalog, settings):  # noqa: F811
    from sandbox.models import AdditionalReviewCall

    settings.REREVIEW_CALLS_PER_DAY, settings.REREVIEW_ITEMS_PER_CALL = 2, 3
    for n in range(8):
        _variant(catalog, title=f"Replica Bag {n}")
    push_and_confirm(catalog)
    _poll(catalog)
    queued, skipped = rereview.request_review(Variant.objects.filter(catalog=catalog), by="staff@example.com")
    assert (queued, skipped) == (8, 0)

    report = rereview.send_due(catalog, client_for(catalog))

    assert (report.calls, report.sent, report.left) == (2, 6, 2)
    calls = list(AdditionalReviewCall.objects.all())
    assert len(calls) == 2 and all(len(c.item_ids) <= 3 for c in calls)  # what Meta received
    assert rereview.send_due(catalog, client_for(catalog)).calls == 0  # the day's calls are spent
    # A day later the rest goes.
    ReReviewRequest.objects.filter(state=ReReviewRequest.State.SENT).update(
        sent_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert rereview.send_due(catalog, client_for(catalog)).sent == 2


def test_meta_refusing_past_its_daily_limit_keeps_the_requests_queued(catalog, settings):  # noqa: F811
    from sandbox.models import AdditionalReviewCall, ProductCatalog

    settings.REREVIEW_CALLS_PER_DAY = 50  # ours says yes; Meta's count (calls made elsewhere) says no
    _variant(catalog, title="Replica Bag")
    push_and_confirm(catalog)
    _poll(catalog)
    rereview.request_review(Variant.objects.filter(catalog=catalog), by="staff@example.com")
    sandbox_catalog = ProductCatalog.objects.get(pk=ProductCatalog.pk_from_fbid(catalog.meta_catalog_id))
    AdditionalReviewCall.objects.bulk_create(
        [AdditionalReviewCall(catalog=sandbox_catalog, item_ids=["1"], created_at=timezone.now()) for _ in range(10)]
    )

    report = rereview.send_due(catalog, client_for(catalog))

    assert (report.sent, report.refused, report.left) == (0, 0, 1)
    assert "10 calls per day" in report.errors[0]
    assert ReReviewRequest.objects.get().state == ReReviewRequest.State.QUEUED


def test_staff_cannot_queue_an_item_that_is_not_rejected(catalog):  # noqa: F811
    _variant(catalog)
    push_and_confirm(catalog)
    _poll(catalog)
    assert rereview.request_review(Variant.objects.filter(catalog=catalog), by="staff") == (0, 1)


def test_drift_found_in_meta_and_its_re_push_are_on_the_items_timeline(catalog):  # noqa: F811
    from catalog.sync import drift
    from catalog.tests.test_drift import another_tool

    item = _variant(catalog)
    push_and_confirm(catalog)
    another_tool(catalog, [{"method": "UPDATE", "data": {"id": item.retailer_id, "price": "1.00 USD"}}])
    catalog.refresh_from_db()
    assert drift.scan(catalog, pages=50).drifted == 1

    found, fixed = (
        VariantEvent.objects.get(variant_id=item.pk, kind=kind) for kind in (Event.DRIFT_FOUND, Event.DRIFT_FIXED)
    )
    assert found.detail == {"kind": "drift", "fields": ["price"]}
    assert fixed.message == "Re-pushed automatically." and found.at <= fixed.at


def test_diagnostics_issues_opened_and_resolved_are_on_the_items_timeline(catalog):  # noqa: F811
    from diagnostics.issues import IssueWriter, Observation
    from diagnostics.tests.factories import ErrorTypeFactory

    item = _variant(catalog)
    error_type = ErrorTypeFactory(code="IMAGE_RESOLUTION_LOW")
    seen = Observation(item.pk, error_type, "MEDIUM", "Too small")
    IssueWriter(catalog, "diagnostics_poll").apply_page({item.pk: [seen]})
    IssueWriter(catalog, "diagnostics_poll").apply_page({item.pk: []})  # Meta no longer reports it

    events = [
        e
        for e in VariantEvent.objects.for_variant(item.pk).order_by("at", "id")
        if e.kind in (Event.ISSUE_OPENED, Event.ISSUE_RESOLVED)
    ]
    said = "IMAGE_RESOLUTION_LOW: Too small"
    assert [(e.kind, e.message) for e in events] == [(Event.ISSUE_OPENED, said), (Event.ISSUE_RESOLVED, said)]
    assert all(e.product_id == item.product_id for e in events)  # on the product's page too


def test_the_sandbox_refuses_what_meta_refuses_on_additional_reviews(catalog):  # noqa: F811
    from catalog.meta.errors import InvalidRequest

    item, fine = _variant(catalog, title="Replica Bag"), _variant(catalog)
    push_and_confirm(catalog)
    _poll(catalog)
    item.refresh_from_db()
    fine.refresh_from_db()
    client, edge = client_for(catalog), f"{catalog.meta_catalog_id}/additional_reviews"
    with pytest.raises(InvalidRequest, match="At most 100 items"):
        client.post(edge, {"product_ids": [item.meta_item_id or item.retailer_id] * 101})
    with pytest.raises(InvalidRequest, match="Only rejected items"):
        client.post(edge, {"product_ids": [fine.retailer_id]})
    assert client.post(edge, {"product_ids": [item.retailer_id], "message": "Fixed."}) == {"success": True}
    with pytest.raises(InvalidRequest, match="already requested"):
        _meta_rejects(item)  # rejected again: still only one additional review per item
        client.post(edge, {"product_ids": [item.retailer_id]})
