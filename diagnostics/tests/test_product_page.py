"""The item view: every variant's status and open issues, with fixes, on the merchant and admin pages."""

import pytest
from django.urls import reverse

from catalog.models import Catalog, Product
from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory
from diagnostics import error_catalog as ec
from diagnostics.models import ErrorType, ItemIssue
from diagnostics.taxonomy import ErrorTypeCache, load_error_taxonomy
from diagnostics.tests.factories import CatalogIssueFactory, ItemIssueFactory

pytestmark = pytest.mark.django_db


def url(product):
    return reverse("health:product", args=[product.pk])


def test_failed_variant_explains_why_with_fix_and_link(merchant_client, make_variants):
    load_error_taxonomy()
    (v,) = make_variants(1, "FAILED")
    et = ErrorType.objects.get(code="IMAGE_RESOLUTION_LOW")
    ItemIssueFactory(variant=v, catalog=v.catalog, error_type=et, message="Image is 300 x 300")
    response = merchant_client.get(url(v.product))
    view = response.context["health"].variants[0]
    assert view.level == "bad"
    assert view.headline == "Not on WhatsApp: image resolution too low."
    issue = view.issues[0]
    assert issue.fix_link.url == (
        f"https://{v.product.store.shop_domain}/admin/products/{v.product.shopify_product_id}"
        f"/variants/{v.shopify_variant_id}"
    )
    assert issue.help_link.url == ec.HELP_IMAGE_SPECS
    body = response.content.decode()
    assert "Why isn't this on WhatsApp?" in body and "Image is 300 x 300" in body and et.fix in body


def test_issues_from_every_source_are_listed(merchant_client, make_variants):
    load_error_taxonomy()
    (v,) = make_variants(1, "FAILED")
    for source, code in (
        (ItemIssue.Source.LOCAL_VALIDATION, "LOCAL_EMPTY_TITLE"),
        (ItemIssue.Source.BATCH, ec.BATCH_ITEM_REJECTED),
        (ItemIssue.Source.FEED, ec.FEED_UPLOAD_ERROR),
        (ItemIssue.Source.DIAGNOSTICS_POLL, "WHATSAPP_POLICY_VIOLATION"),
    ):
        ItemIssueFactory(variant=v, catalog=v.catalog, source=source, error_type=ErrorType.objects.get(code=code))
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert {i.source for i in view.issues} == {"Local validation", "Batch upload", "Feed upload", "Meta diagnostics"}


def test_synced_variant_without_issues_is_live(merchant_client, make_variants):
    (v,) = make_variants(1, "SYNCED", verdict="LIVE", review_status="approved")
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert (view.level, view.headline) == ("ok", "Live in the catalog and available on WhatsApp.")
    assert view.state == "live" and view.review_label == "Approved"


def test_synced_variant_not_read_yet_is_in_review_not_live(merchant_client, make_variants):
    (v,) = make_variants(1, "SYNCED")  # accepted, Meta's verdict not read yet: counted "in review"
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert (view.state, view.level) == ("in_review", "warn")
    assert view.headline == "In the catalog, waiting for Meta's review."


def test_draft_product_is_explained(merchant_client, make_variants):
    (v,) = make_variants(1, "SYNCED", excluded=True)
    Product.objects.filter(pk=v.product_id).update(status=Product.Status.DRAFT)
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert view.headline == "Not sent to Meta: the product is draft in Shopify."
    assert view.state == "excluded" and view.action.url.startswith(f"https://{v.product.store.shop_domain}/admin/")


def test_excluded_by_staff_leads_to_the_galantis_product_page(merchant_client, make_variants):
    (v,) = make_variants(1, "PENDING", excluded=True)
    Product.objects.filter(pk=v.product_id).update(excluded_from_meta=True)
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert view.headline == "Not sent to Meta: the product is excluded from Meta in Galantis."
    assert view.action.url == url(v.product) and view.action.external is False


def test_rejected_in_review_says_why_with_metas_reasons(merchant_client, make_variants):
    (v,) = make_variants(
        1, "SYNCED", verdict="REJECTED", review_status="rejected", review_rejection_reasons=["COUNTERFEIT"]
    )
    response = merchant_client.get(url(v.product))
    view = response.context["health"].variants[0]
    assert view.state == "rejected" and view.level == "bad"
    assert "COUNTERFEIT" in view.why_not_visible
    assert 'data-testid="why-not-visible"' in response.content.decode()


def test_unknown_review_status_is_shown_not_hidden(merchant_client, make_variants):
    (v,) = make_variants(1, "SYNCED", verdict="IN_REVIEW", review_status="escalated")
    response = merchant_client.get(url(v.product))
    assert "unknown: escalated" in response.content.decode()


def test_failed_local_says_galantis_found_and_meta_failure_says_meta_says(merchant_client, store, catalog):
    product = ProductFactory(tenant=store.tenant, store=store)
    VariantFactory(
        product=product,
        catalog=catalog,
        meta_status="FAILED",
        failure_source="LOCAL",
        last_error="The price is 0.00 USD; Meta only accepts positive prices.",
        last_error_fix="Set a price above zero on the variant in Shopify.",
        last_error_code="X",
    )
    VariantFactory(
        product=product,
        catalog=catalog,
        meta_status="FAILED",
        failure_source="META_BATCH",
        last_error="Invalid value for availability.",
        last_error_fix="Correct it in Shopify.",
        last_error_code="META_REJECTED",
    )
    body = merchant_client.get(url(product)).content.decode()
    assert "Galantis found:</span> The price is 0.00 USD" in body
    assert "Meta says:</span> Invalid value for availability." in body
    assert "Meta says:</span> The price" not in body
    assert "<strong>Fix:</strong> Set a price above zero" in body


def test_a_failed_variant_never_sent_shows_no_accepted_time(merchant_client, make_variants):
    from django.utils import timezone

    (never,) = make_variants(
        1,
        "FAILED",
        failure_source="LOCAL",
        synced_hash="",
        synced_at=timezone.now(),
        last_error="The product has no image.",
    )
    response = merchant_client.get(url(never.product))
    assert response.context["health"].variants[0].accepted_at is None
    assert 'data-testid="accepted-at"' not in response.content.decode()


def test_pending_variant_in_paused_catalog_says_why(merchant_client, make_variants, catalog):
    (v,) = make_variants(1, "PENDING")
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL, paused_reason="Stocktake.")
    view = merchant_client.get(url(v.product)).context["health"].variants[0]
    assert view.headline == "Waiting: sync is paused (Paused by staff. Stocktake)."


def test_the_pause_in_the_headline_is_in_the_readers_language(merchant_client, make_variants, catalog):
    (v,) = make_variants(1, "PENDING")
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL, paused_reason="Stocktake.")
    response = merchant_client.get(url(v.product), HTTP_ACCEPT_LANGUAGE="fr")
    headline = response.context["health"].variants[0].headline
    # Our sentence translated, the stored detail as written.
    assert headline == "En attente : la synchronisation est en pause (Mis en pause par l’équipe. Stocktake)."


def test_revoked_token_blocks_pending_variants(merchant_client, make_variants, catalog):
    (v,) = make_variants(1, "PENDING")
    CatalogIssueFactory(catalog=catalog, error_type=ErrorTypeCache().get(ec.TOKEN_REVOKED))
    load_error_taxonomy()
    health = merchant_client.get(url(v.product)).context["health"]
    assert health.variants[0].headline == "Not sent to Meta: meta access token revoked."
    assert health.blocking[0].fix_link.external is False  # our own settings page


def test_other_tenants_product_is_404(merchant_client, other_tenant):
    product = ProductFactory(tenant=other_tenant)
    VariantFactory(product=product, catalog=CatalogFactory(tenant=other_tenant))
    assert merchant_client.get(url(product)).status_code == 404


def test_admin_product_page_has_the_item_panel(admin_client, make_variants):
    (v,) = make_variants(1, "FAILED", last_error="Rejected")
    response = admin_client.get(reverse("admin:catalog_product_change", args=[v.product_id]))
    assert response.status_code == 200
    assert b'id="meta-health"' in response.content
    assert b"Not on WhatsApp" in response.content


@pytest.mark.parametrize("variants", [1, 12])
def test_product_page_query_count_is_flat(merchant_client, store, catalog, variants, django_assert_num_queries):
    product = ProductFactory(tenant=store.tenant, store=store)
    for v in VariantFactory.create_batch(variants, product=product, catalog=catalog, meta_status="FAILED"):
        ItemIssueFactory(variant=v, catalog=catalog)
    # session, user, product; the live check: catalog, its variants, connection, throttle state;
    # then the item view: variants, their issues, blocking catalog issues; the history (issue 19):
    # one keyset page of the product's timeline and its variants' titles
    with django_assert_num_queries(12):
        merchant_client.get(url(product))
