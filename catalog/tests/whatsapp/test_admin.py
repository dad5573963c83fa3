"""The admin's WhatsApp message pages: two clicks from a product set, chosen products, roles and tenants."""

import json
import re

import pytest
from django.urls import reverse

from catalog.models import ProductSetMembership
from catalog.tests.factories import CatalogFactory, LiveVariantFactory, ProductSetFactory
from catalog.whatsapp import readiness as rd

pytestmark = pytest.mark.django_db


@pytest.fixture
def summer(catalog):
    """Tenant A's "Summer" collection: two ready variants, one out of stock."""
    product_set = ProductSetFactory(catalog=catalog, name="Summer", shopify_collection_id=31)
    variants = [LiveVariantFactory(catalog=catalog, sku=f"SUM-{i}") for i in range(3)]
    LiveVariantFactory(catalog=catalog, sku="NOT-IN-SET")
    variants[2].inventory_quantity = 0
    variants[2].save()
    for v in variants:
        ProductSetMembership.objects.create(tenant=catalog.tenant, product_set=product_set, product=v.product)
    return product_set, variants


def message_json(response) -> dict:
    text = response.content.decode()
    match = re.search(r'<textarea id="whatsapp-json"[^>]*>(.*?)</textarea>', text, re.S)
    assert match, "no message JSON on the page"
    return json.loads(
        match.group(1)
        .replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
    )


def test_staff_build_a_collection_s_message_in_two_clicks(staff_client, summer):
    product_set, (a, b, out) = summer
    # Click 1: Product sets. Click 2: "Build message" on the set's row.
    listing = staff_client.get(reverse("admin:catalog_productset_changelist"))
    page_url = reverse("admin:catalog_productset_whatsapp", args=[product_set.pk])
    assert f'href="{page_url}"' in listing.content.decode()

    page = staff_client.get(page_url)

    assert page.status_code == 200
    payload = message_json(page)
    assert payload["type"] == "interactive" and payload["interactive"]["type"] == "product_list"
    items = payload["interactive"]["action"]["sections"][0]["product_items"]
    assert [i["product_retailer_id"] for i in items] == [a.retailer_id, b.retailer_id]
    refused = page.context["built"].refused
    assert [(r.retailer_id, r.reasons) for r in refused] == [(out.retailer_id, (rd.OUT_OF_STOCK,))]
    assert rd.OUT_OF_STOCK in page.content.decode()


def test_the_set_page_takes_texts_kind_and_recipient(staff_client, summer):
    product_set, (a, _, _) = summer
    page = staff_client.get(
        reverse("admin:catalog_productset_whatsapp", args=[product_set.pk]),
        {"kind": "product", "to": "+31 6 1234 5678", "body": "Hello", "footer": ""},
    )
    payload = message_json(page)
    assert payload["to"] == "31612345678"
    assert payload["interactive"] == {
        "type": "product",
        "body": {"text": "Hello"},
        "action": {"catalog_id": product_set.catalog.meta_catalog_id, "product_retailer_id": a.retailer_id},
    }


def test_the_set_page_shows_why_no_message_is_built(staff_client, summer):
    product_set, _ = summer
    page = staff_client.get(
        reverse("admin:catalog_productset_whatsapp", args=[product_set.pk]),
        {"kind": "product_list", "section_title": "x" * 25},
    )
    assert page.context["built"].payload is None
    assert "WhatsApp allows at most 24" in page.content.decode()
    assert 'id="whatsapp-json"' not in page.content.decode()


def test_the_set_page_links_from_the_set_s_own_page(staff_client, summer):
    product_set, _ = summer
    page = staff_client.get(reverse("admin:catalog_productset_change", args=[product_set.pk]))
    assert reverse("admin:catalog_productset_whatsapp", args=[product_set.pk]) in page.content.decode()


def test_a_viewer_builds_messages_too(viewer_client, summer):
    product_set, _ = summer
    assert viewer_client.get(reverse("admin:catalog_productset_whatsapp", args=[product_set.pk])).status_code == 200


def test_another_tenant_s_set_is_404(staff_client, summer, other_tenant):
    theirs = ProductSetFactory(catalog=CatalogFactory(tenant=other_tenant))
    assert staff_client.get(reverse("admin:catalog_productset_whatsapp", args=[theirs.pk])).status_code == 404


def test_the_set_page_is_read_only(staff_client, summer):
    product_set, _ = summer
    url = reverse("admin:catalog_productset_whatsapp", args=[product_set.pk])
    assert staff_client.post(url, {"kind": "product"}).status_code == 405


# -- chosen products -----------------------------------------------------------------------------


def test_staff_build_a_message_from_chosen_products_in_sections(staff_client, summer):
    _, (a, b, out) = summer
    page = staff_client.get(
        reverse("admin:catalog_product_whatsapp"),
        {
            "items": f"# Shirts\n{a.sku}\n{out.sku}\n# Shoes\n{b.retailer_id}\nNO-SUCH-SKU",
            "kind": "product_list",
            "header": "Summer",
            "body": "Tap an item",
            "section_title": "Ours",
        },
    )
    payload = message_json(page)
    sections = payload["interactive"]["action"]["sections"]
    assert [(s["title"], [i["product_retailer_id"] for i in s["product_items"]]) for s in sections] == [
        ("Shirts", [a.retailer_id]),
        ("Shoes", [b.retailer_id]),
    ]
    assert payload["to"] == "<RECIPIENT_PHONE_NUMBER>"
    assert [r.retailer_id for r in page.context["built"].refused] == [out.retailer_id]
    assert page.context["missing"] == ["NO-SUCH-SKU"]


def test_a_product_s_page_leads_to_its_message_built_at_once(staff_client, summer):
    _, (a, _, _) = summer
    change = staff_client.get(reverse("admin:catalog_product_change", args=[a.product_id]))
    link = f"{reverse('admin:catalog_product_whatsapp')}?product={a.product_id}"
    assert link in change.content.decode()
    payload = message_json(staff_client.get(link))
    assert payload["interactive"]["type"] == "product"
    assert payload["interactive"]["action"]["product_retailer_id"] == a.retailer_id


def test_the_product_page_keeps_the_item_health_panel_beside_the_link(staff_client, summer):
    _, (a, _, _) = summer
    change = staff_client.get(reverse("admin:catalog_product_change", args=[a.product_id]))
    origins = [t.origin.name for t in change.templates if t.name == "admin/catalog/product/change_form.html"]
    assert any("diagnostics" in origin for origin in origins) and len(origins) == 2


def test_the_product_list_links_to_the_chosen_products_page(staff_client, summer):
    listing = staff_client.get(reverse("admin:catalog_product_changelist"))
    assert reverse("admin:catalog_product_whatsapp") in listing.content.decode()


def test_another_tenant_s_products_are_never_found(staff_client, summer, other_tenant):
    theirs = LiveVariantFactory(catalog=CatalogFactory(tenant=other_tenant), sku="THEIRS-1")
    page = staff_client.get(
        reverse("admin:catalog_product_whatsapp"),
        {
            "items": f"THEIRS-1\n{theirs.retailer_id}",
            "kind": "product_list",
            "header": "H",
            "body": "B",
            "section_title": "S",
            "tenant": other_tenant.slug,
        },
    )
    assert page.status_code == 200
    assert page.context["built"] is None  # another tenant is no choice
    page = staff_client.get(
        reverse("admin:catalog_product_whatsapp"),
        {
            "items": f"THEIRS-1\n{theirs.retailer_id}",
            "kind": "product_list",
            "header": "H",
            "body": "B",
            "section_title": "S",
        },
    )
    assert page.context["missing"] == ["THEIRS-1", theirs.retailer_id]
    assert theirs.retailer_id not in page.context["built"].as_json()


def test_another_tenant_s_product_id_prefills_nothing(staff_client, summer, other_tenant):
    theirs = LiveVariantFactory(catalog=CatalogFactory(tenant=other_tenant))
    page = staff_client.get(reverse("admin:catalog_product_whatsapp"), {"product": theirs.product_id})
    assert page.status_code == 200
    assert theirs.retailer_id not in page.content.decode()


@pytest.mark.parametrize("size", [3, 20])
def test_the_set_page_costs_the_same_queries_at_any_size(staff_client, catalog, size, django_assert_num_queries):
    product_set = ProductSetFactory(catalog=catalog, shopify_collection_id=8)
    for i in range(size):
        v = LiveVariantFactory(catalog=catalog, inventory_quantity=i % 2)
        ProductSetMembership.objects.create(tenant=catalog.tenant, product_set=product_set, product=v.product)
    url = reverse("admin:catalog_productset_whatsapp", args=[product_set.pk])
    staff_client.get(url)  # warm the session and permission caches
    with django_assert_num_queries(10):  # session, user, roles, set, counts, not ready, ready, perms x2, catalog
        assert staff_client.get(url).status_code == 200
