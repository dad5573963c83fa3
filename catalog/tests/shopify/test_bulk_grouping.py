"""Grouping a bulk operation's JSONL lines back into products (pure, no database)."""

from catalog.shopify.bulk import gid_type, group_collections, group_products

from .payloads import gql_variant


def _product_line(product_id: int) -> dict:
    return {
        "id": f"gid://shopify/Product/{product_id}",
        "legacyResourceId": str(product_id),
        "title": f"P{product_id}",
        "handle": f"p{product_id}",
        "status": "ACTIVE",
        "publishedAt": "2025-01-01T00:00:00Z",
        "tags": [],
        "updatedAt": "2025-03-04T15:00:00Z",
    }


def _variant_line(variant_id: int, product_id: int) -> dict:
    return {**gql_variant(variant_id), "__parentId": f"gid://shopify/Product/{product_id}"}


def _media_line(product_id: int, url: str) -> dict:
    return {
        "id": f"gid://shopify/MediaImage/{product_id}1",
        "mediaContentType": "IMAGE",
        "preview": {"image": {"url": url}},
        "__parentId": f"gid://shopify/Product/{product_id}",
    }


def test_children_are_attached_to_their_parent():
    lines = [
        _product_line(1),
        _media_line(1, "https://cdn/1.jpg"),
        _variant_line(11, 1),
        _variant_line(12, 1),
        _product_line(2),
        _variant_line(21, 2),
    ]
    grouped = [g.product for g in group_products(lines)]
    assert [p.shopify_product_id for p in grouped] == [1, 2]
    assert [v.shopify_variant_id for v in grouped[0].variants] == [11, 12]
    assert grouped[0].images == [{"src": "https://cdn/1.jpg", "alt": ""}]
    assert [v.shopify_variant_id for v in grouped[1].variants] == [21]


def test_children_far_from_their_parent_still_attach_within_the_window():
    lines = [_product_line(1), _product_line(2), _variant_line(21, 2), _variant_line(11, 1)]
    grouped = {g.product.shopify_product_id: g.product for g in group_products(lines)}
    assert [v.shopify_variant_id for v in grouped[1].variants] == [11]


def test_a_child_after_its_parent_left_the_window_comes_out_as_an_orphan():
    lines = [_product_line(1), _product_line(2), _product_line(3), _variant_line(11, 1)]
    out = list(group_products(lines, window=1))
    orphans = [g.orphan_variant for g in out if g.orphan_variant]
    assert [(v.shopify_variant_id, v.shopify_product_id) for v in orphans] == [(11, 1)]
    assert sorted(g.product.shopify_product_id for g in out if g.product) == [1, 2, 3]


def test_grouping_is_lazy_so_memory_is_bounded_by_the_window():
    def lines():
        for n in range(1, 100_000):
            yield _product_line(n)
            yield _variant_line(n * 10, n)

    stream = group_products(lines(), window=5)
    first = next(stream)
    assert first.product.shopify_product_id == 1  # produced long before the input ends


def test_collections_and_their_members():
    lines = [
        {"id": "gid://shopify/Collection/5", "legacyResourceId": "5", "title": "Summer", "handle": "summer"},
        {"id": "gid://shopify/Product/1", "legacyResourceId": "1", "__parentId": "gid://shopify/Collection/5"},
        {"id": "gid://shopify/Collection/6", "legacyResourceId": "6", "title": "Empty", "handle": "empty"},
        {"id": "gid://shopify/Product/2", "legacyResourceId": "2", "__parentId": "gid://shopify/Collection/5"},
    ]
    collections, members = group_collections(lines)
    assert [c.title for c in collections] == ["Summer", "Empty"]
    assert members == {5: [1, 2]}


def test_gid_type():
    assert gid_type("gid://shopify/ProductVariant/1") == "ProductVariant"
    assert gid_type("not-a-gid") == ""
