"""The impact fields (docs/meta-ingestion-rules.md) end to end over real HTTP: Shopify sandbox -> import / webhook ->
Product / Variant -> Batch API and replace feed -> Graph sandbox, read back from the Graph API.

Mapping rules and their sources: docs/field-mapping.md.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import items
from catalog.meta.client import GraphClient
from catalog.models import Catalog, MetaConnection, Product, Variant, WebhookEvent
from catalog.shopify.importer import import_store
from catalog.sync import run

from .conftest import process_received

pytestmark = pytest.mark.django_db(transaction=True)

READ_FIELDS = (
    "retailer_id,description,rich_text_description,videos,material,pattern,gender,age_group,"
    "additional_variant_attributes,category,sale_price,sale_price_start_date,sale_price_end_date,"
    "quantity_to_sell_on_facebook,additional_image_urls"
)
DESCRIPTION_HTML = (
    '<p style="color:red" onclick="steal()">Our <strong>striped</strong> tee, cut from organic cotton for '
    'everyday wear &amp; weekends.</p><script>alert("x")</script><style>p{color:red}</style>'
    '<iframe src="https://evil.example/"></iframe><ul><li>Soft<li>Sturdy</ul>'
    '<p>Read more <a href="https://elsewhere.example/">on our blog</a>. <img src="https://cdn.shopify.com/x.jpg">'
    "<table><tr><td>Chest 50 cm</td></tr></table><div><p>Unclosed <b>bold and a long closing line that takes "
    "this description past two hundred characters of plain text"
)
VIDEO_URL = "https://cdn.shopify.com/videos/c/o/v/striped-tee.mp4"


def _sandbox_product(
    shop,
    *,
    title: str,
    description_html: str,
    category: tuple[str, str] | None,
    options: list[tuple[str, list[str]]],
    metafields: dict[str, str],
    videos: list[str],
    compare_at: Decimal | None,
):
    """A sandbox Shopify product with two images and one variant per combination of the first values."""
    from sandbox.shopify.models import Product as ShopifyProduct
    from sandbox.shopify.models import ProductImage
    from sandbox.shopify.models import Variant as ShopifyVariant

    now = timezone.now() - timedelta(minutes=5)
    product = ShopifyProduct.objects.create(
        shop=shop,
        legacy_id=shop.new_legacy_id("Product"),
        handle=title.lower().replace(" ", "-"),
        title=title,
        description_html=description_html,
        vendor="Harbor & Pine",
        product_type="T-Shirts",
        status="ACTIVE",
        tags=[],
        published_at=now,
        created_at=now,
        updated_at=now,
        options=[
            {"id": n, "name": name, "position": n, "values": values}
            for n, (name, values) in enumerate(options, start=1)
        ],
        category_id=category[0] if category else "",
        category_full_name=category[1] if category else "",
        videos=[
            {"id": 34_000_000_000_000 + n, "url": url, "preview_url": f"{url}.jpg"}
            for n, url in enumerate(videos, start=1)
        ],
        metafields=[
            {
                "id": 26_000_000_000_000 + n,
                "namespace": key.split(".")[0],
                "key": key.split(".")[1],
                "value": value,
                "type": "single_line_text_field",
            }
            for n, (key, value) in enumerate(metafields.items(), start=1)
        ],
    )
    for position in (1, 2):
        serial = shop.allocate_serials(1)
        ProductImage.objects.create(
            shop=shop,
            product=product,
            legacy_id=shop.legacy_id("ProductImage", serial),
            media_legacy_id=shop.legacy_id("MediaImage", serial),
            position=position,
            url=f"https://cdn.shopify.com/s/files/{product.handle}-{position}.jpg",
            created_at=now,
            updated_at=now,
        )
    for position, value in enumerate(options[0][1], start=1):
        serial = shop.allocate_serials(1)
        values = [value] + [other[1][0] for other in options[1:]] + [None, None]
        ShopifyVariant.objects.create(
            shop=shop,
            product=product,
            legacy_id=shop.legacy_id("ProductVariant", serial),
            inventory_item_legacy_id=shop.legacy_id("InventoryItem", serial),
            title=" / ".join(v for v in values if v),
            price=Decimal("20.00"),
            compare_at_price=compare_at,
            position=position,
            option1=values[0],
            option2=values[1],
            option3=values[2],
            inventory_quantity=7,
            created_at=now,
            updated_at=now,
        )
    return product


@pytest.fixture
def store_with_fields(connected, live_server, settings):
    """A connected sandbox shop holding a fully dressed product and a plain gift card, and a Meta catalog."""
    from sandbox.graph_accounts import create_sandbox_business

    settings.META_GRAPH_URL = live_server.url + "/sandbox/graph"
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.SYNC_POLL_DELAYS = [0]
    c = connected(0)
    c.tee = _sandbox_product(
        c.shop,
        title="Striped Tee",
        description_html=DESCRIPTION_HTML,
        category=("aa-1-13-8", "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"),
        options=[("Size", ["S", "M"]), ("Color", ["Navy"]), ("Scent", ["Cedar, smoked: light"])],
        metafields={
            "custom.material": "Organic cotton",
            "custom.pattern": "Striped",
            "mm-google-shopping.gender": "Women",
            "custom.age_group": "Adults",
            "custom.sale_start_date": "2026-11-20",
            "custom.sale_end_date": "2026-12-01",
            "custom.unrelated": "ignored",
        },
        videos=[VIDEO_URL],
        compare_at=Decimal("30.00"),
    )
    c.gift = _sandbox_product(
        c.shop,
        title="Gift Card",
        description_html="<p>A gift.</p>",
        category=("gc-1", "Gift Cards > Digital Gift Cards"),
        options=[("Title", ["Default Title"])],
        metafields={"mm-google-shopping.gender": "robot"},
        videos=[],
        compare_at=None,
    )
    meta = create_sandbox_business(name="Field mapping")
    connection, _ = MetaConnection.objects.update_or_create(
        tenant=c.store.tenant,
        defaults={
            "business_id": meta["business_id"],
            "access_token": meta["access_token"],
            "token_last4": meta["access_token"][-4:],
            "token_status": MetaConnection.TokenStatus.VALID,
        },
    )
    Catalog.objects.filter(store=c.store).update(
        connection=connection, meta_catalog_id=meta["catalog_id"], sync_enabled=True
    )
    c.catalog = Catalog.objects.select_related("connection").get(store=c.store)
    return c


def meta_items(catalog: Catalog) -> dict[str, dict]:
    client = GraphClient(catalog.connection.access_token)
    rows = client.paginate(f"{catalog.meta_catalog_id}/products", fields=READ_FIELDS, limit=100)
    return {row["retailer_id"]: row for row in rows}


def assert_tee_in_meta(row: dict) -> None:
    rich = row["rich_text_description"]
    assert rich.startswith("<p>Our <strong>striped</strong> tee")
    for gone in ("<script", "<style", "<iframe", "style=", "onclick", "<a ", "<img", "<table", "evil.example"):
        assert gone not in rich
    assert "on our blog" in rich and "Chest 50 cm" in rich  # text of dropped tags is kept
    assert rich.endswith("</b></p></div>")  # the unclosed tags were closed
    assert "<" not in row["description"]
    assert [video["url"] for video in row["videos"]] == [VIDEO_URL]
    assert (row["material"], row["pattern"], row["gender"], row["age_group"]) == (
        "Organic cotton",
        "Striped",
        "female",
        "adult",
    )
    assert row["additional_variant_attributes"] == [{"key": "Scent", "value": "Cedar smoked light"}]
    assert row["category"] == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert row["sale_price_start_date"] == "2026-11-20T00:00+0000"
    assert row["sale_price_end_date"] == "2026-12-01T23:59+0000"
    assert row["quantity_to_sell_on_facebook"] == 7
    assert len(row["additional_image_urls"]) == 1


def test_bulk_import_then_batch_api_carries_every_impact_field(store_with_fields):
    c = store_with_fields
    import_store(c.store, bulk=True)
    tee = Product.objects.get(store=c.store, shopify_product_id=c.tee.legacy_id)
    assert tee.shopify_category == "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"
    assert tee.shopify_category_id == "gid://shopify/TaxonomyCategory/aa-1-13-8"
    assert [video["url"] for video in tee.videos] == [VIDEO_URL]
    assert "custom.unrelated" not in tee.metafields and tee.metafields["custom.material"] == "Organic cotton"
    run.sync_now(c.catalog, mode="batch", wait=True, timeout=60)
    assert Variant.objects.filter(catalog=c.catalog).status_counts() == {"PENDING": 0, "SYNCED": 3, "FAILED": 0}
    in_meta = meta_items(c.catalog)
    for variant in Variant.objects.filter(product=tee):
        assert_tee_in_meta(in_meta[variant.retailer_id])
    [gift] = Variant.objects.filter(product__shopify_product_id=c.gift.legacy_id)
    gift_row = in_meta[gift.retailer_id]
    # A Shopify category without a Google equivalent, a short description, no options, an unknown gender:
    # the fields are left out, the item is not failed.
    for absent in (
        "category",
        "rich_text_description",
        "videos",
        "gender",
        "additional_variant_attributes",
        "sale_price_start_date",
    ):
        assert gift_row.get(absent) in (None, []), absent


def test_paged_import_then_replace_feed_carries_every_impact_field(store_with_fields):
    c = store_with_fields
    import_store(c.store)
    run.sync_now(c.catalog, mode="replace_feed", wait=True, timeout=60)
    assert Variant.objects.filter(catalog=c.catalog).status_counts() == {"PENDING": 0, "SYNCED": 3, "FAILED": 0}
    in_meta = meta_items(c.catalog)
    for variant in Variant.objects.filter(product__shopify_product_id=c.tee.legacy_id):
        assert_tee_in_meta(in_meta[variant.retailer_id])


def test_a_webhook_of_an_older_api_version_keeps_category_videos_and_metafields(store_with_fields):
    from sandbox.shopify import changes
    from sandbox.shopify.models import WebhookSubscription

    c = store_with_fields
    import_store(c.store)
    # Subscriptions of a version before product categories reached webhooks; bodies never carry
    # metafields (no metafield namespaces subscribed) nor video files.
    WebhookSubscription.objects.filter(shop=c.shop).update(api_version="2024-04")
    changes.update_product(c.tee, title="Striped Tee (new)")
    assert process_received() == [WebhookEvent.State.PROCESSED]
    tee = Product.objects.get(store=c.store, shopify_product_id=c.tee.legacy_id)
    assert tee.title == "Striped Tee (new)"
    assert tee.shopify_category.endswith("T-Shirts") and tee.metafields["custom.pattern"] == "Striped"
    assert [video["url"] for video in tee.videos] == [VIDEO_URL]
    run.sync_now(c.catalog, mode="batch", wait=True, timeout=60)
    for variant in Variant.objects.filter(product=tee):
        assert_tee_in_meta(meta_items(c.catalog)[variant.retailer_id])


def test_a_webhook_carrying_a_new_category_and_no_videos_replaces_both(store_with_fields):
    from sandbox.shopify import changes

    c = store_with_fields
    import_store(c.store)
    changes.update_product(
        c.tee, category_id="aa-8-8", category_full_name="Apparel & Accessories > Shoes > Sneakers", videos=[]
    )
    assert process_received() == [WebhookEvent.State.PROCESSED]
    tee = Product.objects.get(store=c.store, shopify_product_id=c.tee.legacy_id)
    assert tee.shopify_category == "Apparel & Accessories > Shoes > Sneakers" and tee.videos == []
    variant = Variant.objects.filter(product=tee).first()
    item = items.meta_item(variant, tee, c.store)
    assert item["google_product_category"] == "Apparel & Accessories > Shoes" and "video" not in item


def test_a_feed_line_over_the_limit_fails_locally_and_the_rest_of_the_feed_goes(store_with_fields, monkeypatch):
    c = store_with_fields
    import_store(c.store)
    tee_ids = set(
        Variant.objects.filter(product__shopify_product_id=c.tee.legacy_id).values_list("retailer_id", flat=True)
    )
    # Meta's limit is 5 MB a line, which no Shopify product reaches within the fields' own limits:
    # lowered so the dressed product's lines (about 1.5 KB) are over it and the gift card's (0.5 KB) are not.
    monkeypatch.setattr(items, "MAX_LINE_BYTES", 1000)
    run.sync_now(c.catalog, mode="replace_feed", wait=True, timeout=60)
    failed = Variant.objects.filter(catalog=c.catalog, meta_status=Variant.SyncStatus.FAILED)
    assert set(failed.values_list("retailer_id", flat=True)) == tee_ids
    for variant in failed:
        assert variant.failure_source == Variant.FailureSource.LOCAL
        assert "a line of Meta's product feed may hold at most" in variant.last_error
    in_meta = meta_items(c.catalog)
    assert not tee_ids & set(in_meta)
    assert set(in_meta) == set(
        Variant.objects.filter(catalog=c.catalog, meta_status=Variant.SyncStatus.SYNCED).values_list(
            "retailer_id", flat=True
        )
    )
    assert len(in_meta) == 1
