"""The replace feed's file: every listed item exactly as meta_item builds it, at a flat query cost."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from catalog import item_state, items
from catalog.models import SyncBatch, Variant
from catalog.sync import feeds
from catalog.sync.claim import claim_feed
from catalog.tests.factories import CatalogFactory, CatalogFeedFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def make_catalog(products: int, per_product: int):
    catalog = CatalogFactory()
    CatalogFeedFactory(catalog=catalog)  # its items are its own: a replace snapshot deletes by omission
    for n in range(products):
        product = ProductFactory(
            tenant=catalog.tenant,
            store=catalog.store,
            tags=["summer", f"t{n}"],
            gender="female",
            google_product_category="Apparel",
            custom_label_0="l0",
            images=[{"src": f"https://cdn.example.com/{n}-a.jpg"}, {"src": f"https://cdn.example.com/{n}-b.jpg"}],
        )
        for k in range(per_product):
            VariantFactory(
                product=product,
                catalog=catalog,
                options={"Color": "Red", "Size": str(k)},
                compare_at_price=Decimal("99.00") if k % 2 else None,
                inventory_tracked=bool(k % 3),
                previous_id=f"old-{n}-{k}" if k == 0 else "",
            )
    item_state.refresh_variants(Variant.objects.filter(catalog=catalog))
    return catalog


def write(catalog) -> tuple[list[list[str]], SyncBatch]:
    batch = claim_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED)
    out = io.StringIO()
    feeds.write_feed_file(batch, out)
    return list(csv.reader(io.StringIO(out.getvalue()))), batch


def test_each_row_is_the_variants_meta_item():
    catalog = make_catalog(products=3, per_product=4)
    rows, _ = write(catalog)
    assert rows[0] == feeds.FEED_COLUMNS
    full = Variant.objects.filter(catalog=catalog).select_related("product", "product__store").order_by("pk")
    expected = [feeds.feed_row(items.meta_item(v, v.product, v.product.store)) for v in full]
    assert rows[1:] == expected and len(expected) == 12


def test_removed_items_are_left_out_of_a_replace_file():
    catalog = make_catalog(products=2, per_product=2)
    gone = Variant.objects.filter(catalog=catalog).order_by("pk").first()
    Variant.objects.filter(pk=gone.pk).update(
        removed_at="2020-01-01T00:00:00Z", synced_hash="x", in_replace_feed_at="2020-01-02T00:00:00Z"
    )
    rows, _ = write(catalog)
    assert gone.retailer_id not in {row[0] for row in rows[1:]} and len(rows) == 1 + 3


def test_a_removed_item_no_replace_feed_listed_yet_is_listed_hidden_first():
    catalog = make_catalog(products=2, per_product=2)
    gone = Variant.objects.filter(catalog=catalog).order_by("pk").first()
    Variant.objects.filter(pk=gone.pk).update(removed_at="2020-01-01T00:00:00Z", synced_hash="x")
    rows, _ = write(catalog)
    listed = {row[0]: row for row in rows[1:]}
    assert len(listed) == 4 and listed[gone.retailer_id][feeds.FEED_COLUMNS.index("visibility")] == "staging"


@pytest.mark.parametrize("products, per_product", [(1, 2), (6, 5)])
def test_writing_the_file_costs_the_same_queries_whatever_its_size(django_assert_num_queries, products, per_product):
    catalog = make_catalog(products, per_product)
    batch = claim_feed(catalog, 0, SyncBatch.Kind.REPLACE_FEED)
    # Variants, their products, the store; nothing per row.
    with django_assert_num_queries(3):
        assert feeds.write_feed_file(batch, io.StringIO()) == products * per_product
