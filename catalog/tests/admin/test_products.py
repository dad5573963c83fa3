"""Product and variant admin: badges, edits that Meta sees mark variants PENDING, search, filters."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog import item_state
from catalog.models import Product, Variant
from catalog.tests.admin.formdata import changeform_data
from catalog.tests.factories import ProductFactory, VariantFactory


def synced(variant: Variant) -> Variant:
    """Pretend Meta accepted the variant's current payload."""
    item_state.refresh_variants(Variant.objects.filter(pk=variant.pk))
    variant.refresh_from_db()
    Variant.objects.filter(pk=variant.pk).update(meta_status="SYNCED", synced_hash=variant.payload_hash)
    variant.refresh_from_db()
    return variant


@pytest.fixture
def product(tenant, store):
    return ProductFactory(tenant=tenant, store=store, title="Linen Shirt", vendor="Harbor", product_type="Shirts")


@pytest.fixture
def variants(product, catalog):
    made = [
        synced(VariantFactory(product=product, catalog=catalog, title="S", sku="LIN-S")),
        VariantFactory(product=product, catalog=catalog, title="M", sku="LIN-M", price=Decimal("0")),
    ]
    item_state.refresh_variants(Variant.objects.filter(product=product))
    return made


def product_url(product):
    return reverse("admin:catalog_product_change", args=[product.pk])


@pytest.mark.django_db
class TestBadges:
    def test_product_change_shows_a_badge_per_variant(self, staff_client, product, variants):
        html = staff_client.get(product_url(product)).content.decode()
        assert html.count('class="meta-badge meta-badge-synced"') >= 1
        assert html.count('class="meta-badge meta-badge-failed"') >= 1
        assert "ITEM_PRICE_NOT_POSITIVE" not in html or "positive prices" in html

    def test_failed_badge_carries_the_reason(self, staff_client, product, variants):
        html = staff_client.get(product_url(product)).content.decode()
        assert "Meta only accepts positive prices" in html

    def test_product_changelist_summarises_statuses(self, staff_client, product, variants):
        html = staff_client.get(reverse("admin:catalog_product_changelist")).content.decode()
        assert "meta-badge-synced" in html and "meta-badge-failed" in html

    def test_variant_changelist_shows_badges(self, staff_client, variants):
        html = staff_client.get(reverse("admin:catalog_variant_changelist")).content.decode()
        assert "meta-badge-synced" in html and "meta-badge-failed" in html


@pytest.mark.django_db
class TestEditsMarkPending:
    def test_editing_a_meta_field_of_the_product_marks_variants_pending(self, staff_client, product, variants):
        page = staff_client.get(product_url(product))
        response = staff_client.post(product_url(product), changeform_data(page, title="Linen Shirt, washed"))
        assert response.status_code == 302
        ok = Variant.objects.get(pk=variants[0].pk)
        assert ok.meta_status == Variant.SyncStatus.PENDING

    def test_editing_a_meta_only_field_marks_variants_pending(self, staff_client, product, variants):
        page = staff_client.get(product_url(product))
        staff_client.post(product_url(product), changeform_data(page, custom_label_0="autumn"))
        assert Variant.objects.get(pk=variants[0].pk).meta_status == Variant.SyncStatus.PENDING

    def test_saving_without_changes_keeps_synced(self, staff_client, product, variants):
        page = staff_client.get(product_url(product))
        staff_client.post(product_url(product), changeform_data(page))
        assert Variant.objects.get(pk=variants[0].pk).meta_status == Variant.SyncStatus.SYNCED

    def test_fixing_a_price_in_the_inline_turns_failed_into_pending(self, staff_client, product, variants):
        page = staff_client.get(product_url(product))
        formset = page.context["inline_admin_formsets"][0].formset
        index = next(i for i, f in enumerate(formset.forms) if f.instance.pk == variants[1].pk)
        staff_client.post(product_url(product), changeform_data(page, **{f"variants-{index}-price": "12.50"}))
        fixed = Variant.objects.get(pk=variants[1].pk)
        assert (fixed.price, fixed.meta_status, fixed.last_error) == (Decimal("12.50"), "PENDING", "")

    def test_editing_a_variant_marks_it_pending(self, staff_client, variants):
        url = reverse("admin:catalog_variant_change", args=[variants[0].pk])
        page = staff_client.get(url)
        assert staff_client.post(url, changeform_data(page, inventory_quantity="0")).status_code == 302
        assert Variant.objects.get(pk=variants[0].pk).meta_status == Variant.SyncStatus.PENDING

    def test_exclude_action_marks_variants_pending(self, staff_client, product, variants):
        staff_client.post(
            reverse("admin:catalog_product_changelist"),
            {"action": "exclude_from_meta", "_selected_action": [product.pk]},
        )
        assert Product.objects.get(pk=product.pk).excluded_from_meta
        assert Variant.objects.get(pk=variants[0].pk).meta_status == Variant.SyncStatus.PENDING


@pytest.mark.django_db
class TestSearchAndFilters:
    def changelist(self, client, model, **params):
        response = client.get(reverse(f"admin:catalog_{model}_changelist"), params)
        assert response.status_code == 200
        return {obj.pk for obj in response.context["cl"].result_list}

    def test_product_search_by_title(self, staff_client, product, variants):
        assert self.changelist(staff_client, "product", q="linen") == {product.pk}

    def test_product_search_by_sku(self, staff_client, product, variants):
        assert self.changelist(staff_client, "product", q="LIN-M") == {product.pk}

    def test_product_search_by_retailer_id_and_shopify_ids(self, staff_client, product, variants):
        assert self.changelist(staff_client, "product", q=variants[0].retailer_id) == {product.pk}
        assert self.changelist(staff_client, "product", q=str(product.shopify_product_id)) == {product.pk}

    def test_product_search_miss(self, staff_client, product, variants):
        assert self.changelist(staff_client, "product", q="velvet") == set()

    def test_variant_search_by_sku_retailer_id_and_shopify_id(self, staff_client, variants):
        assert self.changelist(staff_client, "variant", q="LIN-S") == {variants[0].pk}
        assert self.changelist(staff_client, "variant", q=variants[1].retailer_id) == {variants[1].pk}
        assert self.changelist(staff_client, "variant", q=str(variants[1].shopify_variant_id)) == {variants[1].pk}

    def test_product_filter_by_meta_status(self, staff_client, product, variants, tenant, store):
        clean = ProductFactory(tenant=tenant, store=store)
        synced(VariantFactory(product=clean))
        assert self.changelist(staff_client, "product", meta_status="FAILED") == {product.pk}

    def test_product_filters_by_vendor_type_status_store(self, staff_client, product, tenant, store):
        other = ProductFactory(tenant=tenant, store=store, vendor="Other", product_type="Mugs", status="DRAFT")
        assert self.changelist(staff_client, "product", vendor="Harbor") == {product.pk}
        assert self.changelist(staff_client, "product", product_type="Mugs") == {other.pk}
        assert self.changelist(staff_client, "product", status__exact="DRAFT") == {other.pk}
        assert self.changelist(staff_client, "product", store__id__exact=store.pk) == {product.pk, other.pk}

    def test_variant_filter_by_status(self, staff_client, variants):
        assert self.changelist(staff_client, "variant", meta_status__exact="FAILED") == {variants[1].pk}


@pytest.mark.django_db
class TestSearchDetails:
    def changelist(self, client, model, q):
        response = client.get(reverse(f"admin:catalog_{model}_changelist"), {"q": q})
        return {obj.pk for obj in response.context["cl"].result_list}

    def test_words_must_all_match(self, staff_client, tenant, store):
        shirt = ProductFactory(tenant=tenant, store=store, title="Washed Linen Shirt")
        ProductFactory(tenant=tenant, store=store, title="Linen Towel")
        assert self.changelist(staff_client, "product", "linen shirt") == {shirt.pk}

    def test_quoted_phrase(self, staff_client, tenant, store):
        shirt = ProductFactory(tenant=tenant, store=store, title="Washed Linen Shirt")
        ProductFactory(tenant=tenant, store=store, title="Linen Washed Shirt")
        assert self.changelist(staff_client, "product", '"washed linen"') == {shirt.pk}

    def test_long_number_is_an_id_not_a_substring(self, staff_client, tenant, store):
        product = ProductFactory(tenant=tenant, store=store, title="Poster 123456789012")
        assert self.changelist(staff_client, "product", "123456789012") == set()
        assert self.changelist(staff_client, "product", str(product.shopify_product_id)) == {product.pk}

    def test_short_number_matches_text(self, staff_client, tenant, store):
        product = ProductFactory(tenant=tenant, store=store, title="Poster No. 42")
        assert self.changelist(staff_client, "product", "42") == {product.pk}

    def test_variant_search_by_product_title_and_partial_sku(self, staff_client, tenant, store):
        variant = VariantFactory(
            product=ProductFactory(tenant=tenant, store=store, title="Alpine Mug"), sku="MUG-77-BLUE"
        )
        VariantFactory(product=ProductFactory(tenant=tenant, store=store, title="Other"), sku="TEE-1")
        assert self.changelist(staff_client, "variant", "alpine") == {variant.pk}
        assert self.changelist(staff_client, "variant", "77-BL") == {variant.pk}
        assert self.changelist(staff_client, "variant", str(variant.product.shopify_product_id)) == {variant.pk}

    def test_autocomplete_uses_the_same_search(self, staff_client, tenant, store):
        product = ProductFactory(tenant=tenant, store=store, title="Alpine Mug")
        response = staff_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "catalog", "model_name": "variant", "field_name": "product", "term": "alpine"},
        )
        assert [row["id"] for row in response.json()["results"]] == [str(product.pk)]


# --- The variant list counts from the maintained counts ------------------------------------


@pytest.fixture
def counted_rows(tenant, other_tenant):
    from catalog.tests.factories import CatalogFactory, ProductFactory, VariantFactory

    mine, theirs = CatalogFactory(tenant=tenant), CatalogFactory(tenant=other_tenant)
    product = ProductFactory(tenant=tenant, store=mine.store)
    VariantFactory.create_batch(3, product=product, catalog=mine)
    VariantFactory.create_batch(2, product=product, catalog=mine, meta_status="SYNCED", verdict="LIVE")
    VariantFactory(product=product, catalog=None)  # in no catalog yet: listed, so counted
    VariantFactory.create_batch(4, product=ProductFactory(tenant=other_tenant, store=theirs.store), catalog=theirs)
    return mine


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?meta_status__exact=PENDING",
        "?meta_status__exact=SYNCED&verdict=live",
        "?verdict=in_review",
        "?catalog__id__exact={catalog}",
        "?catalog__id__exact={catalog}&meta_status__exact=SYNCED&o=2&p=1",
        "?verdict=nonsense",
        "?q=",
    ],
)
def test_the_variant_list_count_is_read_from_the_maintained_counts(staff_client, counted_rows, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/admin/catalog/variant/" + query.format(catalog=counted_rows.pk)
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url)

    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and 'catalog_variant"' in q["sql"]]
    assert counts == [], "the list counted its variants"
    cl = response.context["cl"]
    assert cl.result_count == cl.queryset.count()


@pytest.mark.parametrize(
    "query",
    [
        "?q=SKU",
        "?inventory_policy__exact=deny",
        "?in_flight=yes",
        "?meta_status__exact=PENDING&meta_status__exact=SYNCED",
    ],
)
def test_other_variant_list_filters_count_their_rows(staff_client, counted_rows, query):
    response = staff_client.get("/admin/catalog/variant/" + query)

    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count == cl.queryset.count()


def test_a_superuser_variant_list_counts_every_tenant(admin_client, counted_rows):
    from catalog.models import Variant

    cl = admin_client.get("/admin/catalog/variant/").context["cl"]
    assert cl.result_count == Variant.objects.count() == 10
