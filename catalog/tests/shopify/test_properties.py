"""Property-based: any Shopify webhook product either maps to valid Meta items or fails with a reason.

Pure (no database): payload -> records -> unsaved Product/Variant -> items.meta_item and
items.local_problems, exactly the path the webhook processor and importer take.
"""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import items
from catalog.models import Product, ShopifyStore, Variant
from catalog.shopify import records

PRICE = re.compile(r"^\d+(\.\d{2})? [A-Z]{3}$")
text = st.text(max_size=300)  # any unicode: emoji, right-to-left, control characters
money = st.one_of(
    st.none(),
    st.decimals(min_value=-1000, max_value=10**15, places=2, allow_nan=False).map(str),
    text,
)
quantity = st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.none(), text)


@st.composite
def rest_products(draw):
    product_id = draw(st.integers(min_value=1, max_value=2**62))
    images = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.integers(1, 10**9),
                    "position": st.integers(0, 10),
                    "src": st.one_of(st.just("https://cdn.shopify.com/x.jpg"), text),
                }
            ),
            max_size=3,
        )
    )
    variants = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.integers(min_value=1, max_value=2**62),
                    "title": text,
                    "price": money,
                    "compare_at_price": money,
                    "sku": st.one_of(st.none(), st.just("DUP"), text),
                    "inventory_quantity": quantity,
                    "inventory_policy": st.sampled_from(["deny", "continue", "weird", None]),
                    "option1": st.one_of(st.none(), text),
                    "image_id": st.one_of(st.none(), st.integers(1, 10**9)),
                    "updated_at": st.one_of(st.none(), st.just("2025-03-04T10:00:00-05:00"), text),
                }
            ),
            max_size=4,
        )
    )
    return {
        "id": product_id,
        "title": draw(text),
        "body_html": draw(text),
        "vendor": draw(st.one_of(st.none(), text)),
        "product_type": draw(st.one_of(st.none(), text)),
        "handle": draw(text),
        "status": draw(st.sampled_from(["active", "draft", "archived", "unlisted", "nonsense", None])),
        "published_at": draw(st.one_of(st.none(), st.just("2025-03-01T00:00:00Z"))),
        "tags": draw(st.one_of(st.none(), text, st.lists(text, max_size=3))),
        "updated_at": draw(st.one_of(st.none(), st.just("2025-03-04T10:00:00-05:00"), text)),
        "options": [{"name": draw(text), "position": 1}],
        "images": images,
        "image": images[0] if images else None,
        "variants": variants,
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rest_products(), st.sampled_from(["USD", "JPY", "EUR"]))
def test_any_product_maps_to_a_valid_item_or_fails_with_a_reason(payload, currency):
    record = records.product_from_rest(payload)
    assert record is not None
    store = ShopifyStore(shop_domain="prop.myshopify.com", name="Prop shop", currency=currency)
    product = Product(
        shopify_product_id=record.shopify_product_id,
        **{
            name: getattr(record, name)
            for name in (
                "handle",
                "title",
                "description_html",
                "vendor",
                "product_type",
                "status",
                "published",
                "tags",
                "images",
            )
        },
    )
    for variant_record in record.variants:
        variant = Variant(
            shopify_variant_id=variant_record.shopify_variant_id,
            retailer_id=str(variant_record.shopify_variant_id),
            inventory_tracked=True if variant_record.inventory_tracked is None else variant_record.inventory_tracked,
            **{
                name: getattr(variant_record, name)
                for name in (
                    "title",
                    "sku",
                    "options",
                    "price",
                    "compare_at_price",
                    "inventory_quantity",
                    "inventory_policy",
                    "image_url",
                )
            },
        )
        item = items.meta_item(variant, product, store)
        problems = items.local_problems(item)
        assert item["id"] == str(variant_record.shopify_variant_id)
        assert len(item["title"]) <= items.TITLE_MAX and len(item["description"]) <= items.DESCRIPTION_MAX
        assert item["availability"] in ("in stock", "out of stock", "available for order")
        assert item["visibility"] in ("published", "staging")
        assert items.payload_hash(item) == items.payload_hash(dict(reversed(list(item.items()))))
        if problems:
            assert all(p.message and p.fix for p in problems)
        else:
            assert item["title"] and item["image_link"]
            assert PRICE.match(item["price"]) and not item["price"].startswith("0 ")
            assert "sale_price" not in item or PRICE.match(item["sale_price"])
