"""The impact fields (docs/meta-ingestion-rules.md): each mapped from Shopify-shaped data (docs/field-mapping.md).

Pure tests (no database): parsing of GraphQL bulk lines and REST webhook bodies into
records, and the mapping of stored products and variants to Meta item fields.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from catalog import google_taxonomy, items, rich_text
from catalog.shopify import bulk, records
from catalog.sync import feeds
from catalog.tests.factories import ProductFactory, ShopifyStoreFactory, VariantFactory
from catalog.tests.shopify.payloads import gql_product, gql_variant, rest_product, rest_variant

LONG_HTML = "<p>" + "Soft organic cotton, cut for everyday wear. " * 6 + "</p>"


def item_of(variant_kwargs: dict | None = None, **product_kwargs) -> dict:
    store = ShopifyStoreFactory.build()
    product = ProductFactory.build(store=store, tenant=store.tenant, **product_kwargs)
    variant = VariantFactory.build(product=product, **(variant_kwargs or {}))
    return items.meta_item(variant, product, store)


# -- from Shopify: bulk JSONL (ungrouped) and webhooks ------------------------------------------


def test_ungrouped_bulk_lines_bring_category_videos_and_metafields_to_their_product():
    product = gql_product(7, [], category=("aa-1-13-8", "Apparel & Accessories > Clothing > Clothing Tops"))
    product.pop("media"), product.pop("variants")
    parent = product["id"]
    lines = [
        product,
        {"id": "gid://shopify/Product/8", "legacyResourceId": "8", "title": "Other", "handle": "other"},
        # Children of product 7 arrive after another product's line, each on its own line.
        {
            "id": "gid://shopify/Metafield/1",
            "namespace": "custom",
            "key": "material",
            "value": "Wool",
            "type": "single_line_text_field",
            "__parentId": parent,
        },
        {
            "id": "gid://shopify/Video/2",
            "mediaContentType": "VIDEO",
            "preview": {"image": {"url": "https://c/p.jpg"}},
            "sources": [
                {"url": "https://c/v.m3u8", "mimeType": "application/x-mpegURL"},
                {"url": "https://c/v.mp4", "mimeType": "video/mp4"},
            ],
            "__parentId": parent,
        },
        {
            "id": "gid://shopify/Metafield/3",
            "namespace": "custom",
            "key": "secret_note",
            "value": "no",
            "__parentId": parent,
        },
        {**gql_variant(44), "__parentId": parent},
    ]
    grouped = {g.product.shopify_product_id: g.product for g in bulk.group_products(lines) if g.product}
    record = grouped[7]
    assert record.shopify_category == "Apparel & Accessories > Clothing > Clothing Tops"
    assert record.shopify_category_id == "gid://shopify/TaxonomyCategory/aa-1-13-8"
    assert record.videos == [{"id": "gid://shopify/Video/2", "url": "https://c/v.mp4"}]
    assert record.metafields == {"custom.material": "Wool"}
    assert [v.shopify_variant_id for v in record.variants] == [44]
    # A product without metafield lines has none (the bulk query asked for them).
    assert grouped[8].metafields == {} and grouped[8].videos == []


def test_webhooks_of_older_versions_say_nothing_about_category_videos_or_metafields():
    record = records.product_from_rest(rest_product(7, [rest_variant(44, 7)], videos=("https://c/v.mp4",)))
    # No category key (before 2024-07), a video named without its file, no metafields: keep what is stored.
    assert (record.shopify_category, record.shopify_category_id, record.videos, record.metafields) == (
        None,
        None,
        None,
        None,
    )


def test_webhooks_that_carry_the_fields_set_them_and_a_null_category_clears_it():
    record = records.product_from_rest(
        rest_product(
            7,
            [rest_variant(44, 7)],
            category=("aa-8-8", "Apparel & Accessories > Shoes > Sneakers"),
            metafields={"custom.pattern": "Striped", "other.key": "x"},
        )
    )
    assert record.shopify_category == "Apparel & Accessories > Shoes > Sneakers"
    assert record.videos == []  # media listed, none a video
    assert record.metafields == {"custom.pattern": "Striped"}
    cleared = records.product_from_rest(rest_product(7, [rest_variant(44, 7)], category=None))
    assert (cleared.shopify_category, cleared.shopify_category_id) == ("", "")


# -- to Meta --------------------------------------------------------------------------------------


def test_rich_text_description_only_past_200_characters_and_sanitised():
    assert "rich_text_description" not in item_of(description_html="<p>Short <b>and</b> sweet.</p>")
    html = LONG_HTML + '<p class="x" style="color:red">Bold <b onmouseover="x()">move</b></p><script>bad()</script>'
    item = item_of(description_html=html + '<iframe src="https://x"></iframe><a href="https://elsewhere">link</a>')
    rich = item["rich_text_description"]
    assert rich.endswith("<p>Bold <b>move</b></p>link")
    assert "script" not in rich and "iframe" not in rich and "style" not in rich and "href" not in rich
    assert items.local_problems(item) == []


@pytest.mark.parametrize(
    "html",
    [
        "<div><p>" + "unclosed " * 40,  # unbalanced tags are closed
        "<" * 300,  # no markup at all once escaped: no rich text, never a failure
        "<p>" + "x" * 30_000 + "</p>",  # too long for Meta: cut and closed
        "<ul>" + "<li>item</li>" * 3000 + "</ul>",
    ],
)
def test_html_meta_would_not_accept_never_fails_the_item(html):
    item = item_of(description_html=html)
    assert items.local_problems(item) == []
    rich = item.get("rich_text_description", "")
    assert len(rich) <= rich_text.RICH_TEXT_MAX
    assert rich == "" or rich_text.sanitise(rich) == rich  # what is sent is stable under sanitising


def test_video_from_product_video_media_and_bad_addresses_dropped():
    item = item_of(videos=[{"id": "v1", "url": "https://cdn.shopify.com/v.mp4"}, {"id": "v2", "url": "not a url"}])
    assert item["video"] == [{"url": "https://cdn.shopify.com/v.mp4"}]
    assert "video" not in item_of()


def test_additional_image_link_from_images_after_the_first():
    item = item_of(images=[{"src": f"https://cdn.example.com/{n}.jpg"} for n in range(30)])
    assert item["image_link"] == "https://cdn.example.com/0.jpg"
    assert item["additional_image_link"] == [f"https://cdn.example.com/{n}.jpg" for n in range(1, 21)]


def test_material_pattern_gender_age_group_from_metafields_options_override_and_staff_win():
    metafields = {
        "custom.material": "Wool",
        "custom.pattern": "Solid",
        "mm-google-shopping.gender": "Men",
        "custom.age_group": "Kids",
    }
    item = item_of(metafields=metafields)
    assert (item["material"], item["pattern"], item["gender"], item["age_group"]) == ("Wool", "Solid", "male", "kids")
    item = item_of({"options": {"Material": "Linen", "Gender": "Womens"}}, metafields=metafields)
    assert (item["material"], item["gender"]) == ("Linen", "female")
    assert item_of({"options": {"Gender": "Womens"}}, metafields=metafields, gender="unisex")["gender"] == "unisex"


def test_absurd_gender_and_age_words_are_left_out_not_failed():
    item = item_of(metafields={"custom.gender": "robot", "custom.age_group": "ancient"})
    assert "gender" not in item and "age_group" not in item
    assert items.local_problems(item) == []


def test_an_age_option_that_is_no_age_group_still_tells_the_variants_apart():
    item = item_of({"options": {"Age": "2-3 years", "Color": "Red"}})
    assert "age_group" not in item and item["additional_variant_attribute"] == "Age:2-3 years"


def test_options_beyond_color_and_size_become_additional_variant_attributes():
    item = item_of({"options": {"Color": "Navy", "Size": "M", "Scent": "Cedar, smoked", "Wick: type": "Wood"}})
    assert (item["color"], item["size"]) == ("Navy", "M")
    assert item["additional_variant_attribute"] == "Scent:Cedar smoked,Wick type:Wood"
    assert "additional_variant_attribute" not in item_of({"options": {"Title": "Default Title"}})


def test_google_product_category_from_shopify_category_unless_staff_set_one():
    tops = "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"
    assert item_of(shopify_category=tops)["google_product_category"] == (
        "Apparel & Accessories > Clothing > Shirts & Tops"
    )
    # An unlisted category takes its nearest listed ancestor's Google category.
    assert (
        item_of(shopify_category="Home & Garden > Decor > Home Fragrances > Candles")["google_product_category"]
        == "Home & Garden > Decor"
    )
    assert item_of(shopify_category=tops, google_product_category="1604")["google_product_category"] == "1604"


@pytest.mark.parametrize("category", ["Gift Cards > Digital Gift Cards", "Uncategorized", "Made-up > Thing", ""])
def test_shopify_categories_without_a_google_equivalent_leave_the_field_empty(category):
    item = item_of(shopify_category=category)
    assert "google_product_category" not in item
    assert google_taxonomy.google_category(category) == ""
    assert items.local_problems(item) == []


def test_sale_price_effective_date_from_sale_metafields_only_with_a_sale_price():
    dates = {"custom.sale_start_date": "2026-11-20", "custom.sale_end_date": "2026-12-01T18:30:00+01:00"}
    sale = item_of({"price": Decimal("20.00"), "compare_at_price": Decimal("30.00")}, metafields=dates)
    assert sale["sale_price"] == "20.00 USD"
    assert sale["sale_price_effective_date"] == "2026-11-20T00:00+0000/2026-12-01T18:30+0100"
    assert "sale_price_effective_date" not in item_of({"price": Decimal("20.00")}, metafields=dates)


@pytest.mark.parametrize(
    "dates",
    [
        {"custom.sale_start_date": "2026-12-01", "custom.sale_end_date": "2026-11-01"},  # reversed
        {"custom.sale_start_date": "2026-12-01"},  # half open
        {"custom.sale_start_date": "0001-01-01", "custom.sale_end_date": "9999-12-31"},  # absurd years
        {"custom.sale_start_date": "soon", "custom.sale_end_date": "later"},
    ],
)
def test_unusable_sale_dates_are_left_out_and_the_sale_price_stays(dates):
    item = item_of({"price": Decimal("20.00"), "compare_at_price": Decimal("30.00")}, metafields=dates)
    assert item["sale_price"] == "20.00 USD" and "sale_price_effective_date" not in item
    assert items.local_problems(item) == []


def test_quantity_to_sell_on_facebook_is_the_tracked_stock_never_negative():
    assert item_of({"inventory_quantity": 7})["quantity_to_sell_on_facebook"] == 7
    assert item_of({"inventory_quantity": -3})["quantity_to_sell_on_facebook"] == 0
    assert "quantity_to_sell_on_facebook" not in item_of({"inventory_tracked": False})


def test_a_feed_line_over_5_mb_is_refused_with_the_reason():
    item = item_of()
    item["internal_label"] = ["x" * 100] * 60_000  # 6.2 million bytes
    [problem] = items.local_problems(item)
    assert problem.code == "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH"
    assert problem.message.startswith("The item is 5.9 MB;") and "at most 5 MB" in problem.message
    assert "not uploaded" in problem.message


def test_the_canonical_json_is_never_shorter_than_the_feed_line():
    """Why measuring the canonical JSON is enough to keep every feed line within the limit."""
    item = item_of(
        {"options": {"Scent": 'Cedar "smoked"\nline'}},
        description_html=LONG_HTML + '<p>"quoted", and\nnew lines</p>',
        videos=[{"url": "https://cdn.shopify.com/v.mp4"}],
        tags=["a,b", "c'd", 'e"f'],
        images=[{"src": f"https://cdn.example.com/{n}.jpg"} for n in range(5)],
    )
    line = io.StringIO()
    csv.writer(line).writerow(feeds.feed_row(item))
    assert len(line.getvalue().encode()) <= len(items.canonical_bytes(item))
