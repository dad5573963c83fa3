"""Generator determinism and variety, JSONL streaming, shop creation and the operator commands."""

import io
import json
import tracemalloc

import pytest
from django.core.management import call_command

from sandbox.shopify import generator
from sandbox.shopify.accounts import create_sandbox_shop
from sandbox.shopify.models import Collection, InventoryLevel, Product, Shop, Variant


def test_generator_is_deterministic():
    first = list(generator.generate_products(30, seed=7))
    second = list(generator.generate_products(30, seed=7))
    assert first == second
    assert first != list(generator.generate_products(30, seed=8))


def test_generator_covers_the_pitfalls():
    products = list(generator.generate_products(400, seed=3))
    variants = [v for p in products for v in p["variants"]]
    assert {p["status"] for p in products} == {"ACTIVE", "DRAFT", "ARCHIVED"}
    assert any(p["published_at"] is None and p["status"] == "ACTIVE" for p in products)
    assert any(not p["images"] for p in products)
    assert any(p["description_html"] == "" for p in products)
    assert any("&amp;" in p["description_html"] for p in products)
    assert any(len(p["title"]) > 150 for p in products)
    assert any(not p["title"].isascii() for p in products)
    assert any(p["vendor"] == "" for p in products)
    assert any(v["sku"] is None for v in variants)
    assert any(not v["tracked"] for v in variants)
    assert any(v["inventory_quantity"] < 0 and v["inventory_policy"] == "CONTINUE" for v in variants)
    assert any(v["compare_at_price"] and v["compare_at_price"] > v["price"] for v in variants)
    assert any(v["compare_at_price"] is not None and v["compare_at_price"] <= v["price"] for v in variants)
    assert len({v["legacy_id"] for v in variants}) == len(variants)


def test_big_product_edge_case():
    products = list(generator.generate_products(4, big_product_every=4, big_product_variants=130))
    assert len(products[-1]["variants"]) == 130


def test_jsonl_writer_streams_exact_variant_count_in_constant_memory():
    class Sink(io.TextIOBase):
        def write(self, text):
            return len(text)

    peaks = []
    for variants in (300, 3000):
        tracemalloc.start()
        counts = generator.write_bulk_jsonl(Sink(), variants=variants)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert counts["variants"] == variants
    # Ten times the variants, (nearly) the same peak: nothing accumulates.
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024


@pytest.mark.django_db
def test_create_sandbox_shop_returns_contract(settings):
    settings.SITE_URL = "http://127.0.0.1:8103"
    result = create_sandbox_shop(products=5)
    assert set(result) == {"shop_domain", "admin_url", "api_version", "access_token", "webhook_secret"}
    assert result["admin_url"] == f"http://127.0.0.1:8103/sandbox/shopify/{result['shop_domain']}/admin/api"
    shop = Shop.objects.get(domain=result["shop_domain"])
    assert Product.objects.for_shop(shop).count() == 5
    assert InventoryLevel.objects.filter(shop=shop).count() == Variant.objects.for_shop(shop).count()
    assert Collection.objects.for_shop(shop).filter(rules__isnull=False).count() == 2


@pytest.mark.django_db
def test_two_shops_never_share_ids():
    a, b = create_sandbox_shop(products=3), create_sandbox_shop(products=3)
    ids_a = set(Variant.objects.filter(shop__domain=a["shop_domain"]).values_list("legacy_id", flat=True))
    ids_b = set(Variant.objects.filter(shop__domain=b["shop_domain"]).values_list("legacy_id", flat=True))
    assert ids_a and not ids_a & ids_b


@pytest.mark.django_db
def test_shop_from_jsonl_file_round_trips(tmp_path):
    path = tmp_path / "bulk.jsonl"
    with path.open("w") as out:
        counts = generator.write_bulk_jsonl(out, variants=300, seed=5)
    result = create_sandbox_shop(jsonl_path=str(path))
    shop = Shop.objects.get(domain=result["shop_domain"])
    assert Variant.objects.for_shop(shop).count() == 300
    assert Product.objects.for_shop(shop).count() == counts["products"]
    first = json.loads(path.read_text().splitlines()[0])
    product = Product.objects.get(shop=shop, legacy_id=int(first["legacyResourceId"]))
    assert product.title == first["title"] and product.description_html == first["descriptionHtml"]
    # New objects created later never collide with the file's ids.
    assert shop.next_serial > 1


@pytest.mark.django_db
def test_sandbox_account_command_prints_json():
    out = io.StringIO()
    call_command("sandbox_account", "--products", "2", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result["shopify"]) == {"shop_domain", "admin_url", "api_version", "access_token", "webhook_secret"}
    assert Product.objects.filter(shop__domain=result["shopify"]["shop_domain"]).count() == 2


@pytest.mark.django_db
def test_sandbox_account_rejects_missing_jsonl():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No such JSONL file"):
        call_command("sandbox_account", "--shopify-jsonl", "/nope.jsonl", "--json")


@pytest.mark.django_db
def test_change_command_sets_price_and_stock():
    result = create_sandbox_shop(products=2)
    variant = Variant.objects.filter(shop__domain=result["shop_domain"]).first()
    out = io.StringIO()
    call_command(
        "sandbox_shopify_change",
        "--shop",
        result["shop_domain"],
        "--json",
        "price",
        "--variant",
        str(variant.legacy_id),
        "--price",
        "3.50",
        stdout=out,
    )
    call_command(
        "sandbox_shopify_change",
        "--shop",
        result["shop_domain"],
        "inventory",
        "--variant",
        variant.gid,
        "--quantity",
        "9",
        stdout=io.StringIO(),
    )
    variant.refresh_from_db()
    assert json.loads(out.getvalue())["price"] == "3.50"
    assert str(variant.price) == "3.50" and variant.inventory_quantity == 9


@pytest.mark.django_db
def test_change_command_random_and_unknown_shop():
    from django.core.management.base import CommandError

    result = create_sandbox_shop(products=3)
    out = io.StringIO()
    call_command(
        "sandbox_shopify_change", "--shop", result["shop_domain"], "--json", "random", "--count", "5", stdout=out
    )
    assert len(json.loads(out.getvalue())["changes"]) == 5
    with pytest.raises(CommandError, match="No sandbox shop"):
        call_command("sandbox_shopify_change", "--shop", "nope.myshopify.com", "deliver")
