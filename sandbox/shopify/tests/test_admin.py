"""Sandbox admin pages load for superusers, stay flat in queries, and actions fire webhooks."""

import pytest
from django.urls import reverse

from sandbox.shopify.accounts import create_sandbox_shop
from sandbox.shopify.models import Product, Shop, Variant, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

MODELS = [
    "shop",
    "product",
    "variant",
    "inventorylevel",
    "collection",
    "webhooksubscription",
    "webhookdelivery",
    "bulkoperation",
    "order",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load(admin_client, model):
    create_sandbox_shop(products=3)
    response = admin_client.get(reverse(f"admin:sandbox_shopify_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("products", [2, 20])
def test_product_changelist_query_count_is_flat(admin_client, django_assert_max_num_queries, products):
    create_sandbox_shop(products=products)
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("admin:sandbox_shopify_product_changelist"))


def test_product_change_page_loads(admin_client):
    create_sandbox_shop(products=1)
    product = Product.objects.first()
    assert admin_client.get(reverse("admin:sandbox_shopify_product_change", args=[product.pk])).status_code == 200


def test_staff_without_superuser_cannot_see_sandbox(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    response = client.get(reverse("admin:sandbox_shopify_shop_changelist"))
    assert response.status_code == 403


def test_variant_price_edit_in_admin_records_webhook(admin_client):
    result = create_sandbox_shop(products=1)
    shop = Shop.objects.get(domain=result["shop_domain"])
    WebhookSubscription.objects.create(
        shop=shop, legacy_id=1, topic="PRODUCTS_UPDATE", api_version="2025-10", callback_url="http://127.0.0.1:9/closed"
    )
    Shop.objects.filter(pk=shop.pk).update(webhook_mode=Shop.WebhookMode.HELD)
    variant = Variant.objects.filter(shop=shop).first()
    url = reverse("admin:sandbox_shopify_variant_change", args=[variant.pk])
    form = {
        "title": variant.title,
        "sku": variant.sku or "",
        "barcode": variant.barcode or "",
        "price": "77.00",
        "compare_at_price": "",
        "inventory_policy": variant.inventory_policy,
        "tracked": "on",
        "taxable": "on",
    }
    assert admin_client.post(url, form).status_code == 302
    variant.refresh_from_db()
    assert str(variant.price) == "77.00"
    assert WebhookDelivery.objects.filter(shop=shop, topic="products/update").count() == 1


def test_random_changes_action(admin_client):
    result = create_sandbox_shop(products=3)
    shop = Shop.objects.get(domain=result["shop_domain"])
    response = admin_client.post(
        reverse("admin:sandbox_shopify_shop_changelist"), {"action": "random_changes", "_selected_action": [shop.pk]}
    )
    assert response.status_code == 302
