"""Meta's verdict wherever staff see a variant, and the admin index's overview without phantom PENDING."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import MetaConnection, Variant
from catalog.tests.factories import ProductFactory, ShopifyStoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mix(tenant, store, catalog):
    product = ProductFactory(tenant=tenant, store=store, title="Linen shirt")

    def make(**fields):
        return VariantFactory(product=product, catalog=catalog, **fields)

    return {
        "live": make(
            meta_status="SYNCED", verdict="LIVE", review_status="approved", synced_hash="h1", synced_at=timezone.now()
        ),
        "rejected": make(
            meta_status="SYNCED",
            verdict="REJECTED",
            review_status="rejected",
            review_rejection_reasons=["COUNTERFEIT"],
            synced_hash="h2",
            synced_at=timezone.now(),
        ),
        "in_review": make(meta_status="SYNCED", verdict="", synced_hash="h3", synced_at=timezone.now()),
        "excluded": make(meta_status="SYNCED", verdict="LIVE", excluded=True, synced_hash="h4"),
        "never_sent": make(
            meta_status="FAILED",
            failure_source="LOCAL",
            last_error="The product has no image.",
            last_error_fix="Add an image in Shopify.",
            synced_hash="",
            synced_at=timezone.now(),
        ),
    }


def listed(client, **params) -> set[int]:
    response = client.get(reverse("admin:catalog_variant_changelist"), params)
    assert response.status_code == 200
    return {v.pk for v in response.context["cl"].result_list}


def test_variant_list_shows_the_verdict_badge(staff_client, mix):
    html = staff_client.get(reverse("admin:catalog_variant_changelist")).content.decode()
    for css in ("live", "rejected", "review", "excluded"):
        assert f"meta-badge meta-badge-{css}" in html, css
    assert "COUNTERFEIT" in html  # the badge's tooltip says why


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("live", {"live"}),
        ("not_visible", {"rejected"}),
        ("rejected", {"rejected"}),
        ("in_review", {"in_review"}),
        ("not_sent", {"excluded"}),
    ],
)
def test_variant_list_filters_by_verdict_as_the_health_page_counts(staff_client, mix, value, expected):
    assert listed(staff_client, verdict=value) == {mix[name].pk for name in expected}


def test_filter_counts_match_health_counts(staff_client, mix, catalog):
    counts = Variant.objects.filter(catalog=catalog).health_counts()
    assert len(listed(staff_client, verdict="live")) == counts["verdict"]["live"]
    assert len(listed(staff_client, verdict="not_visible")) == counts["verdict"]["not_visible"]
    assert len(listed(staff_client, verdict="in_review")) == counts["verdict"]["in_review"]
    assert len(listed(staff_client, verdict="not_sent")) == counts["excluded"]


def test_product_page_inline_shows_the_verdict(staff_client, mix):
    product_id = mix["live"].product_id
    html = staff_client.get(reverse("admin:catalog_product_change", args=[product_id])).content.decode()
    assert "Meta&#x27;s verdict" in html or "Meta's verdict" in html
    assert "meta-badge meta-badge-rejected" in html and "meta-badge meta-badge-live" in html


def test_a_failed_variant_never_sent_shows_no_accepted_time(staff_client, mix):
    never = staff_client.get(reverse("admin:catalog_variant_change", args=[mix["never_sent"].pk])).content.decode()
    assert "Meta holds no version of it" in never
    assert "Synced at" not in never
    assert "Galantis found: The product has no image." in never and "Meta says" not in never
    assert "Add an image in Shopify." in never  # our fix, beside our message
    live = staff_client.get(reverse("admin:catalog_variant_change", args=[mix["live"].pk])).content.decode()
    assert "Meta holds no version of it" not in live and "Last accepted by Meta" in live


def test_index_does_not_count_variants_without_a_catalog_as_pending(admin_client, tenant, catalog, store):
    VariantFactory.create_batch(
        2, product=ProductFactory(tenant=tenant, store=store), catalog=catalog, meta_status="PENDING"
    )
    outlet = ShopifyStoreFactory(tenant=tenant, shop_domain="outlet.myshopify.com")
    VariantFactory.create_batch(3, product=ProductFactory(tenant=tenant, store=outlet), catalog=None)
    response = admin_client.get(reverse("admin:index"))
    row = next(r for r in response.context["tenant_overview"] if r["tenant"] == tenant)
    assert (row["total"], row["no_catalog"]) == (5, 3)
    html = str(row["badges"])
    assert "PENDING 2" in html and "NO CATALOG 3" in html


def test_index_warns_of_a_token_expiring_within_the_warning_days(admin_client, catalog, settings):
    settings.META_TOKEN_WARNING_DAYS = 7
    MetaConnection.objects.filter(pk=catalog.connection_id).update(
        token_status=MetaConnection.TokenStatus.VALID, token_expires_at=timezone.now() + timedelta(days=3, hours=1)
    )
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "galantis-token-warning" in html and "expires on" in html
