"""The admin site: index grouped by tenant workflow, section pages, every page renders."""

import pytest
from django.urls import reverse

from catalog.tests.factories import VariantFactory

ADMIN_MODELS = [
    "tenant",
    "membership",
    "shopifystore",
    "metaconnection",
    "catalog",
    "product",
    "variant",
    "syncbatch",
    "productset",
]


@pytest.mark.django_db
def test_index_sections_follow_the_tenant_workflow(admin_client):
    response = admin_client.get(reverse("admin:index"))
    names = [app["name"] for app in response.context["app_list"]]
    assert names[:5] == ["Tenants & access", "Shopify", "Meta catalog", "Products", "Sync"]
    assert response.context["site_header"] == "Galantis catalog sync"


@pytest.mark.django_db
def test_products_section_lists_products_then_variants(admin_client):
    response = admin_client.get(reverse("admin:index"))
    products = next(app for app in response.context["app_list"] if app["name"] == "Products")
    assert [m["object_name"] for m in products["models"]] == ["Product", "Variant"]


@pytest.mark.django_db
def test_section_page_lists_its_models(admin_client):
    response = admin_client.get(reverse("admin:section", kwargs={"key": "meta"}))
    assert response.status_code == 200
    assert [m["object_name"] for m in response.context["app_list"][0]["models"]] == [
        "MetaConnection",
        "Catalog",
        "ProductSet",
        "ReconciliationReport",
        "MetaItemDeletion",
    ]


@pytest.mark.django_db
def test_unknown_section_is_404(admin_client):
    assert admin_client.get(reverse("admin:section", kwargs={"key": "nope"})).status_code == 404


@pytest.mark.django_db
def test_index_overview_counts_variants_by_status(admin_client):
    VariantFactory.create_batch(2)
    response = admin_client.get(reverse("admin:index"))
    assert sum(row["total"] for row in response.context["tenant_overview"]) == 2
    assert "meta-badge-pending" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model_name", ADMIN_MODELS)
def test_superuser_pages_render(admin_client, model_name):
    VariantFactory()
    assert admin_client.get(reverse(f"admin:catalog_{model_name}_changelist")).status_code == 200
    add = admin_client.get(reverse(f"admin:catalog_{model_name}_add"))
    assert add.status_code == (403 if model_name == "syncbatch" else 200)
