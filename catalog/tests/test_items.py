import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import item_state, items
from catalog.models import Variant
from catalog.tests.factories import VariantFactory


@pytest.mark.django_db
def test_refresh_marks_new_variant_pending_and_is_idempotent():
    variant = VariantFactory()
    assert item_state.refresh_variants(Variant.objects.all()) == 1
    variant.refresh_from_db()
    assert variant.meta_status == Variant.SyncStatus.PENDING
    assert item_state.refresh_variants(Variant.objects.all()) == 0


@pytest.mark.django_db
def test_non_positive_price_fails_locally():
    variant = VariantFactory(price=Decimal("0"))
    item_state.refresh_variants(Variant.objects.all())
    variant.refresh_from_db()
    assert variant.meta_status == Variant.SyncStatus.FAILED
    assert "ITEM_PRICE_NOT_POSITIVE" in variant.last_error_code


def test_description_is_plain_text_with_entities_decoded():
    html = "<p>Tea&nbsp;&amp; cakes</p><script>x()</script> &#8211; <b>fresh</b>"
    assert items.plain_description(html, "t") == "Tea & cakes – fresh"


def test_sale_price_when_compare_at_is_higher():
    assert items.format_price(Decimal("5"), "USD") == "5.00 USD"
    assert items.format_price(Decimal("1500"), "JPY") == "1500 JPY"


@pytest.mark.django_db
def test_refresh_writes_each_variants_own_hash_status_and_error():
    ok = VariantFactory()
    free = VariantFactory(price=Decimal("0"))
    imageless = VariantFactory(product__images=[])
    assert item_state.refresh_variants(Variant.objects.all()) == 3
    rows = {v.pk: v for v in Variant.objects.all()}
    assert len({v.payload_hash for v in rows.values()}) == 3
    assert (rows[ok.pk].meta_status, rows[ok.pk].last_error_code) == ("PENDING", "")
    assert (rows[free.pk].meta_status, rows[free.pk].last_error_code) == ("FAILED", "ITEM_PRICE_NOT_POSITIVE")
    assert (rows[imageless.pk].meta_status, rows[imageless.pk].last_error_code) == ("FAILED", "EMPTY_IMAGE_URL")
    for variant in rows.values():
        expected = items.payload_hash(items.meta_item(variant, variant.product, variant.product.store))
        assert variant.payload_hash == expected


# -- the canonical form every stored hash was taken of ----------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.text()
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), _values, max_size=8))
def test_canonical_bytes_are_jsons_sorted_compact_utf8(item):
    # Stored hashes were taken of this json.dumps form: the fast encoder must not move one of them.
    expected = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert items.canonical_bytes(item) == expected
    assert items.canonical_json(item) == expected.decode("utf-8")


def test_a_known_item_keeps_its_hash():
    item = {
        "id": "44",
        "title": "Bluse «Été» \u2028 😀",
        "price": "12.50 EUR",
        "quantity_to_sell_on_facebook": 3,
        "internal_label": ["a", "b"],
        "z": None,
        "big": 2**70,
    }
    assert (
        items.payload_hash(item)
        == hashlib.sha256(
            json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ).hexdigest()
    )


# -- what an UPDATE clears, and which addresses Meta can open ----------------------------

_clearable_items = st.fixed_dictionaries(
    {"id": st.just("44"), "title": st.text(max_size=5)},
    optional={name: st.text(min_size=1, max_size=5) for name in items.CLEARABLE_FIELDS},
)


@settings(max_examples=300, deadline=None)
@given(_clearable_items)
def test_an_update_clears_exactly_the_clearable_fields_the_item_lacks(item):
    canonical = items.canonical_bytes(item)
    prefix = items.cleared_fields_prefix(items.clearable_mask(item))
    lacking = {name: "" for name in items.CLEARABLE_FIELDS if name not in item}
    assert json.loads(prefix + b'"id":"44"}') == {**lacking, "id": "44"}  # no field the item has
    data = prefix + canonical[1:]
    assert json.loads(data) == {**lacking, **item}
    assert data.endswith(canonical[1:])  # the item's own bytes follow unchanged


@pytest.mark.parametrize(
    ("address", "openable"),
    [
        ("https://shop.example/products/hat?variant=44", True),
        ("http://cdn.example/a.jpg", True),
        ("https://shop.example/products/hat?variant=4 4", False),  # a space in the query
        ("https://shop.example/products/h at?variant=44", False),  # a space before it
        ("https://user:pw@shop.example/p", False),
        ("ftp://shop.example/p", False),
        ("https://", False),
        ("https://shop.example/" + "a" * 2000, False),
        (None, False),
    ],
)
def test_a_web_address_is_absolute_http_without_spaces_or_credentials(address, openable):
    assert items._is_web_url(address) is openable
    assert items._is_web_url(address) is openable  # the second answer comes from the cache
