"""``sandbox_account --shopify-jsonl``: every line of a bulk export loads, grouped or not."""

import gc
import io
import json
import tracemalloc

import pytest
from django.core.management import CommandError, call_command

from sandbox.shopify import jsonl_loading
from sandbox.shopify.models import Collection, InventoryLevel, Product, ProductImage, Shop, Variant

from . import bulk_files

pytestmark = pytest.mark.django_db


def _account(path, *args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sandbox_account", "--shopify-jsonl", str(path), "--json", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def _shop(account: dict) -> Shop:
    return Shop.objects.get(domain=account["shopify"]["shop_domain"])


def _catalog(shop: Shop) -> dict:
    """Everything loaded, keyed by the file's ids (comparable between two shops)."""
    products = {
        p.legacy_id: (p.handle, p.title, p.status, p.tags, p.options, p.published_at, p.updated_at)
        for p in Product.objects.for_shop(shop)
    }
    # Positions follow the file's order of media lines, which an ungrouped file may shuffle.
    images = {
        i.legacy_id: (i.product.legacy_id, i.url, i.alt_text, i.width)
        for i in ProductImage.objects.for_shop(shop).select_related("product")
    }
    variants = {
        v.legacy_id: (
            v.product.legacy_id,
            v.title,
            v.sku,
            v.price,
            v.compare_at_price,
            v.position,
            v.option1,
            v.option2,
            v.inventory_quantity,
            v.inventory_policy,
            v.tracked,
            v.inventory_item_legacy_id,
            v.image.url if v.image else None,
        )
        for v in Variant.objects.for_shop(shop).select_related("product", "image")
    }
    return {"products": products, "images": images, "variants": variants}


def test_an_ungrouped_export_loads_every_variant_as_the_grouped_one_does(tmp_path, monkeypatch):
    objects = bulk_files.generated_objects(300, seed=5)
    expected = bulk_files.variants_by_product(objects)
    ungrouped = bulk_files.ungroup(objects, seed=3)
    # The file really is ungrouped: some variant lines sit far from their product's line.
    position = {o["id"]: n for n, o in enumerate(ungrouped)}
    assert max(position[o["id"]] - position[o["__parentId"]] for o in ungrouped if "__parentId" in o) > 100

    grouped_account, _ = _account(bulk_files.write(tmp_path / "grouped.jsonl", objects))
    # Small chunks: most children are joined in another round than their parent was written in.
    monkeypatch.setattr(jsonl_loading, "CHILD_CHUNK", 7)
    monkeypatch.setattr(jsonl_loading, "LOAD_BATCH_PRODUCTS", 3)
    ungrouped_account, warnings = _account(bulk_files.write(tmp_path / "ungrouped.jsonl", ungrouped))

    assert warnings == ""
    for account in (grouped_account, ungrouped_account):
        shop = _shop(account)
        loaded = account["loaded"]
        assert loaded["variants"] == 300 == Variant.objects.for_shop(shop).count()
        assert loaded["products"] == len(expected) == Product.objects.for_shop(shop).count()
        assert loaded["images"] == ProductImage.objects.for_shop(shop).count() > 0
        assert loaded["lines"] == len(objects) and loaded["orphans"] == 0 and loaded["skipped"] == {}
        stored: dict[int, set[int]] = {}
        for product_id, variant_id in Variant.objects.for_shop(shop).values_list("product__legacy_id", "legacy_id"):
            stored.setdefault(product_id, set()).add(variant_id)
        assert {p: stored.get(p, set()) for p in expected} == expected
        assert InventoryLevel.objects.filter(shop=shop).count() == 300
    assert _catalog(_shop(ungrouped_account)) == _catalog(_shop(grouped_account))


def test_the_grouped_export_round_trips_field_by_field(tmp_path):
    objects = bulk_files.generated_objects(120, seed=9)
    account, _ = _account(bulk_files.write(tmp_path / "grouped.jsonl", objects))
    shop = _shop(account)
    lines = {o["id"]: o for o in objects}
    for variant in Variant.objects.for_shop(shop).select_related("product", "image"):
        line = lines[variant.gid]
        assert line["__parentId"] == variant.product.gid
        assert (variant.title, variant.sku, f"{variant.price:.2f}", variant.inventory_quantity) == (
            line["title"],
            line["sku"],
            line["price"],
            line["inventoryQuantity"],
        )
        assert (variant.image.url if variant.image else None) == (line["image"] or {}).get("url")
        assert [o["value"] for o in line["selectedOptions"]] == [
            o["value"] for o in variant.selected_options(variant.product)
        ]
    for image in ProductImage.objects.for_shop(shop):
        assert lines[image.media_gid]["image"]["url"] == image.url  # the file's media ids are kept


def _product(number: int, **fields) -> dict:
    return {"id": f"gid://shopify/Product/{number}", **fields}


def _child(gid: str, parent: int, **fields) -> dict:
    return {"id": gid, **fields, "__parentId": f"gid://shopify/Product/{parent}"}


@pytest.mark.parametrize("chunk", [jsonl_loading.CHILD_CHUNK, 1])
def test_lines_shaped_by_other_api_versions_load(tmp_path, monkeypatch, chunk):
    """Fields omitted or shaped as other versions and queries write them, children interleaved."""
    monkeypatch.setattr(jsonl_loading, "CHILD_CHUNK", chunk)
    lines = [
        # 2025 shape: options with optionValues, featuredMedia, MediaImage lines.
        _product(
            1,
            legacyResourceId="1",
            title="Tee",
            handle="tee",
            status="ACTIVE",
            publishedAt="2025-02-01T00:00:00Z",
            options=[{"id": "gid://shopify/ProductOption/11", "name": "Size", "optionValues": [{"name": "S"}]}],
            featuredMedia={"preview": {"image": {"url": "https://cdn.example/tee.jpg"}}},
        ),
        # Old shape: no legacyResourceId / status / options, bodyHtml, comma tags, featuredImage.
        _product(
            2,
            title="Mug",
            bodyHtml="<p>Hot</p>",
            tags="kitchen, gift",
            featuredImage={"originalSrc": "https://cdn.example/mug.jpg"},
        ),
        _child(
            "gid://shopify/ProductVariant/21",
            2,
            priceV2={"amount": "12.5", "currencyCode": "USD"},
            selectedOptions=[{"name": "Color", "value": "Red"}],
        ),
        # Bare product: an id and nothing else.
        _product(3),
        _child("gid://shopify/ProductImage/201", 2, src="https://cdn.example/mug.jpg", altText="Mug"),
        _child(
            "gid://shopify/ProductVariant/12",
            1,
            legacyResourceId="12",
            price="20.00",
            position=2,
            selectedOptions=[{"name": "Size", "value": "M"}],
            image={"url": "https://cdn.example/tee-m.jpg"},
            inventoryItem={"id": "gid://shopify/InventoryItem/912", "tracked": False},
        ),
        _child("gid://shopify/ProductVariant/31", 3),
        _child(
            "gid://shopify/MediaImage/101",
            1,
            mediaContentType="IMAGE",
            preview={"image": {"url": "https://cdn.example/tee.jpg", "altText": "Front"}},
        ),
        _child("gid://shopify/Video/102", 1, mediaContentType="VIDEO"),
        _child("gid://shopify/MediaImage/103", 1, mediaContentType="IMAGE", image=None),  # still processing
        _child(
            "gid://shopify/ProductVariant/11",
            1,
            legacyResourceId="11",
            price="20.00",
            position=1,
            selectedOptions=[{"name": "Size", "value": "S"}],
            inventoryQuantity=4,
        ),
        _child(
            "gid://shopify/ProductVariant/22",
            2,
            priceV2={"amount": "14.00", "currencyCode": "USD"},
            selectedOptions=[{"name": "Color", "value": "Blue"}],
            image={"src": "https://cdn.example/mug.jpg"},
        ),
        _child("gid://shopify/Collection/7", 2, title="Kitchen", handle="kitchen"),
        _child("gid://shopify/Collection/7", 1, title="Kitchen", handle="kitchen"),
        _child("gid://shopify/Metafield/5", 1, key="material", value="cotton"),
        {"id": "gid://shopify/InventoryLevel/9?inventory_item_id=912", "__parentId": "gid://shopify/ProductVariant/12"},
    ]
    account, _ = _account(bulk_files.write(tmp_path / "versions.jsonl", lines))
    shop = _shop(account)
    loaded = account["loaded"]
    assert {k: loaded[k] for k in ("products", "variants", "images", "collections", "collection_products")} == {
        "products": 3,
        "variants": 5,
        "images": 3,
        "collections": 1,
        "collection_products": 2,
    }
    assert loaded["orphans"] == 0
    assert loaded["skipped"] == {"Video": 1, "MediaImage without URL": 1, "Metafield": 1, "InventoryLevel": 1}

    tee, mug, bare = (Product.objects.get(shop=shop, legacy_id=n) for n in (1, 2, 3))
    assert [o["name"] for o in tee.options] == ["Size"]
    # The featured image and the media line are the same picture: one image, with the file's id.
    assert list(tee.images.values_list("legacy_id", "url", "alt_text", "position")) == [
        (101, "https://cdn.example/tee.jpg", "Front", 1),
        (1000 * 1 + 2, "https://cdn.example/tee-m.jpg", None, 2),
    ]
    assert list(mug.images.values_list("legacy_id", "alt_text")) == [(201, "Mug")]
    assert (mug.status, mug.tags, mug.description_html, mug.handle) == (
        "ACTIVE",
        ["kitchen", "gift"],
        "<p>Hot</p>",
        "mug-2",
    )
    # Options a product line did not select come from its variants' selectedOptions.
    assert mug.options == [{"id": 21, "name": "Color", "position": 1, "values": ["Red", "Blue"]}]
    red, blue = Variant.objects.filter(product=mug).order_by("legacy_id")
    assert (red.price, red.option1, red.position, red.image_id) == (12.5, "Red", 1, None)
    assert (blue.price, blue.option1, blue.position, blue.image.legacy_id) == (14, "Blue", 2, 201)
    m = Variant.objects.get(shop=shop, legacy_id=12)
    assert (m.option1, m.position, m.tracked, m.inventory_item_legacy_id) == ("M", 2, False, 912)
    assert Variant.objects.get(shop=shop, legacy_id=11).inventory_quantity == 4
    bare_variant = Variant.objects.get(product=bare)
    assert (bare.title, bare.handle, bare_variant.title, bare_variant.price) == (
        "Product 3",
        "product-3-3",
        "Default Title",
        0,
    )
    kitchen = Collection.objects.get(shop=shop, handle="kitchen")
    assert set(kitchen.products.values_list("legacy_id", flat=True)) == {1, 2}
    # The default collections still come along (their handles are free).
    assert set(Collection.objects.for_shop(shop).values_list("handle", flat=True)) >= {"featured", "summer", "on-sale"}


def test_children_whose_parent_is_not_in_the_file_are_reported(tmp_path):
    objects = bulk_files.generated_objects(40, seed=2)
    first_product = next(o for o in objects if "__parentId" not in o)
    dropped = [o for o in objects if o is not first_product and o.get("__parentId") != first_product["id"]]
    lost = [o for o in objects if o.get("__parentId") == first_product["id"]]
    lost_variants = [o for o in lost if "/ProductVariant/" in o["id"]]
    assert lost_variants
    path = bulk_files.write(tmp_path / "orphans.jsonl", bulk_files.ungroup(dropped + lost, seed=4))

    account, warnings = _account(path)
    loaded = account["loaded"]
    assert loaded["orphans"] == len(lost)
    assert loaded["variants"] == 40 - len(lost_variants)
    assert 0 < len(loaded["orphan_examples"]) <= 5
    example = loaded["orphan_examples"][0]
    assert example["parent"] == first_product["id"] and example["id"] in {o["id"] for o in lost}
    assert json.loads(path.read_text().splitlines()[example["line"] - 1])["id"] == example["id"]
    assert f"{len(lost)} line(s) name a parent that is not in the file" in warnings and example["id"] in warnings

    human = io.StringIO()
    call_command("sandbox_account", "--shopify-jsonl", str(path), stdout=human, stderr=io.StringIO())
    text = human.getvalue()
    assert "loaded:" in text and f"orphans: {len(lost)}" in text and f"variants: {40 - len(lost_variants)}" in text
    assert f"line {example['line']}: {example['id']} (parent {first_product['id']})" in text


def test_the_json_output_keeps_its_keys_and_adds_loaded(tmp_path):
    account, _ = _account(bulk_files.write(tmp_path / "small.jsonl", bulk_files.generated_objects(5)))
    assert set(account) == {"meta", "shopify", "loaded"}
    assert set(account["shopify"]) == {"shop_domain", "admin_url", "api_version", "access_token", "webhook_secret"}
    generated = io.StringIO()
    call_command("sandbox_account", "--products", "3", "--json", stdout=generated)
    loaded = json.loads(generated.getvalue())["loaded"]
    assert set(loaded) == set(account["loaded"]) and loaded["products"] == 3 and loaded["orphans"] == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "gid://shopify/ProductVariant/9", "__parentId": ', "line 3: not valid JSON"),
        ('["a list"]', "line 3: expected a JSON object, found list"),
        ('{"id": "gid://shopify/ProductVariant/9", "__parentId": 7}', "line 3: __parentId must be a string"),
    ],
)
def test_a_malformed_line_is_a_command_error_naming_it_and_leaves_no_shop(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "gid://shopify/Product/1"}\n\n' + line + "\n")
    shops = Shop.objects.count()
    with pytest.raises(CommandError, match=message):
        _account(path)
    assert Shop.objects.count() == shops and not Product.objects.filter(legacy_id=1).exists()


def test_a_repeated_product_id_is_an_error_naming_the_lines(tmp_path):
    path = bulk_files.write(tmp_path / "twice.jsonl", [_product(1), _product(2), _product(1)])
    with pytest.raises(CommandError, match=r"lines 1-3: a shop product id \(or handle\) appears twice"):
        _account(path)


def _peak_of_load(tmp_path, variants: int) -> int:
    objects = bulk_files.far_apart(bulk_files.generated_objects(variants))
    path = bulk_files.write(tmp_path / f"{variants}.jsonl", objects)
    shop = Shop.objects.create(
        domain=f"m{variants}.myshopify.com", name="m", primary_domain_url="https://m.example", id_base=variants * 10**9
    )
    gc.collect()  # free lists and caches left by earlier tests would blur the peaks
    tracemalloc.start()
    try:
        report = jsonl_loading.load_jsonl(shop, str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.variants == variants == Variant.objects.for_shop(shop).count()
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path, monkeypatch):
    """Small chunks and a file ten times bigger, children far from their parents: the peak grows
    a little (Python's free lists fill up), not tenfold as when lines are held until joined."""
    monkeypatch.setattr(jsonl_loading, "CHILD_CHUNK", 50)
    monkeypatch.setattr(jsonl_loading, "LOAD_BATCH_PRODUCTS", 20)
    small, big = _peak_of_load(tmp_path, 200), _peak_of_load(tmp_path, 2000)
    assert big < small * 2.5 + 512 * 1024, (small, big)
