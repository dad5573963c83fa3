"""Load a bulk-operation JSONL file (a Shopify products export) into a sandbox shop.

Shopify writes every node of a nested connection (variant, media image, collection link, ...)
as its own line carrying ``__parentId``. A child comes after its parent but, by default
(``groupObjects: false``), anywhere after it, interleaved with other products and their
children; with ``groupObjects: true`` it follows its parent. Both load the same way, because
children are joined to their parents through the database, never in memory. The file is read
three times:

1. parents: product lines (and collection lines) are inserted `LOAD_BATCH_PRODUCTS` at a time;
2. images: image and media lines, `CHILD_CHUNK` at a time; each chunk looks its products up by
   id in one query, and a URL the product already has is not added twice;
3. variants and links: variant lines (their image found by URL, added when no media line gave
   it), each product line's featured image when no media line gave it, collection links.

Images load before variants so a variant's image is the media row with the file's id, and a
product's images keep the file's order. Memory holds one chunk of lines and the rows it
touches, a count per skipped type and `MAX_ORPHAN_EXAMPLES` examples: nothing grows with the
file. The price is reading it three times and one lookup per chunk.

A child whose parent is not in the file is an orphan: counted with a few examples, not loaded.
Lines of types the sandbox does not model (videos, metafields, a variant's inventory levels,
...) are counted by type under ``skipped``. The load is one transaction: a malformed line
raises `JsonlError` naming its line number and leaves nothing behind.
"""

from collections import Counter
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count

from ..loading import LOAD_BATCH_PRODUCTS, LoadReport, default_location, finish_load
from ..models import Collection, CollectionProduct, InventoryLevel, Location, Product, ProductImage, Shop, Variant
from .lines import (
    JsonlError,
    child_kind,
    collection_row,
    featured_image,
    image_of,
    number_of,
    product_row,
    read_lines,
    type_and_number,
    variant_row,
)

__all__ = ["JsonlError", "load_jsonl"]

# Child lines joined per round trip: one product lookup (an IN list) and a few inserts each.
CHILD_CHUNK = 1000
# Rows per INSERT statement.
INSERT_BATCH = 500
# Synthetic image ids (images a file gives by URL only) are product id * this + position;
# Shopify allows 250 media per product.
IMAGE_IDS_PER_PRODUCT = 1000
# The LoadReport count each inserted model adds to.
COUNTED_AS = {Product: "products", Collection: "collections", ProductImage: "images", Variant: "variants"}


def load_jsonl(shop: Shop, path: str) -> LoadReport:
    """Load a bulk-operation JSONL file of products into `shop` (see the module docstring)."""
    report = LoadReport()
    with transaction.atomic():
        _load_parents(shop, path, report)
        _load_children(shop, path, report, images=True)
        _load_children(shop, path, report, images=False)
        finish_load(shop)
    return report


def _insert(model: type[models.Model], numbered: list[tuple[int, models.Model]], report: LoadReport) -> None:
    """bulk_create the rows and count them; a unique-constraint failure is a JsonlError naming the lines."""
    try:
        with transaction.atomic():
            model.objects.bulk_create([row for _, row in numbered], batch_size=INSERT_BATCH)
    except IntegrityError as exc:
        first, last = numbered[0][0], numbered[-1][0]
        raise JsonlError(
            f"lines {first}-{last}: a {model._meta.verbose_name} id (or handle) appears twice in the file "
            f"or is already in the shop ({exc})"
        ) from None
    counted = COUNTED_AS[model]
    setattr(report, counted, getattr(report, counted) + len(numbered))


# ---------------------------------------------------------------------------------- pass 1


def _load_parents(shop: Shop, path: str, report: LoadReport) -> None:
    pending: dict[type[models.Model], list] = {Product: [], Collection: []}
    for number, obj in read_lines(path):
        report.lines += 1
        if obj.get("__parentId") is not None:
            continue
        kind, _ = type_and_number(obj.get("id"))
        if kind == "Product":
            model, row = Product, product_row(shop, obj)
        elif kind == "Collection":
            model, row = Collection, collection_row(shop, obj)
        else:
            report.skip(kind or "no id")
            continue
        pending[model].append((number, row))
        if len(pending[model]) >= LOAD_BATCH_PRODUCTS:
            _insert(model, pending[model], report)
            pending[model] = []
    for model, rows in pending.items():
        if rows:
            _insert(model, rows, report)


# ---------------------------------------------------------------------------------- passes 2 and 3

Item = tuple[int, dict[str, Any], str]  # line number, object, kind
Joined = tuple[int, dict[str, Any], Product, ProductImage | None]  # a variant line, its product and image


def _load_children(shop: Shop, path: str, report: LoadReport, *, images: bool) -> None:
    """Pass 2 (`images`): image lines. Pass 3: variants, featured images, collection links."""
    location = None if images else default_location(shop)
    chunk: list[Item] = []
    for number, obj in read_lines(path):
        parent = obj.get("__parentId")
        if parent is None:
            if images or type_and_number(obj.get("id"))[0] != "Product" or not featured_image(obj):
                continue
            kind = "featured"
        else:
            kind = child_kind(obj, parent)
            if (kind == "image") != images:
                continue
            if kind.startswith("skip:"):
                report.skip(kind.removeprefix("skip:"))
                continue
        chunk.append((number, obj, kind))
        if len(chunk) >= CHILD_CHUNK:
            _join_chunk(shop, chunk, report, location)
            chunk = []
    if chunk:
        _join_chunk(shop, chunk, report, location)


def _product_id_of(obj: dict[str, Any], kind: str) -> int | None:
    """The Shopify id of the product a pass-2/3 item belongs to."""
    if kind in ("featured", "member"):
        return number_of(obj)
    return type_and_number(obj["__parentId"])[1]


class _Images:
    """The images of a chunk's products: found by URL, new ones numbered after the last."""

    def __init__(self, shop: Shop, products: dict[int, Product]) -> None:
        self.shop = shop
        self.by_url: dict[tuple[int, str], ProductImage] = {}
        self.count: Counter[int] = Counter()
        self.new: list[tuple[int, ProductImage]] = []
        pks = [p.pk for p in products.values()]
        for image in ProductImage.objects.filter(product_id__in=pks).only("pk", "product_id", "url"):
            self.by_url[(image.product_id, image.url)] = image
            self.count[image.product_id] += 1

    def get_or_add(self, number: int, product: Product, image: dict[str, Any], legacy: int | None) -> ProductImage:
        key = (product.pk, image["url"])
        if key in self.by_url:
            return self.by_url[key]
        self.count[product.pk] += 1
        position = self.count[product.pk]
        legacy = legacy or product.legacy_id * IMAGE_IDS_PER_PRODUCT + position
        row = ProductImage(
            shop=self.shop,
            product=product,
            legacy_id=legacy,
            media_legacy_id=legacy,
            position=position,
            url=image["url"],
            alt_text=image["alt"],
            width=image["width"],
            height=image["height"],
            created_at=product.created_at,
            updated_at=product.updated_at,
        )
        self.by_url[key] = row
        self.new.append((number, row))
        return row

    def save(self, report: LoadReport) -> None:
        if self.new:
            _insert(ProductImage, self.new, report)
            self.new = []


def _join_chunk(shop: Shop, chunk: list[Item], report: LoadReport, location: Location | None) -> None:
    wanted = {pid for number, obj, kind in chunk if (pid := _product_id_of(obj, kind)) is not None}
    products = {
        p.legacy_id: p
        for p in Product.objects.for_shop(shop)
        .filter(legacy_id__in=wanted)
        .only("pk", "legacy_id", "options", "created_at", "updated_at")
    }
    images = _Images(shop, products)
    variants: list[tuple[int, dict[str, Any], Product]] = []
    links: list[Item] = []
    for number, obj, kind in chunk:
        product = products.get(_product_id_of(obj, kind))
        if kind == "featured":
            if product is not None:
                images.get_or_add(number, product, featured_image(obj), None)
        elif kind == "member":
            links.append((number, obj, kind))
        elif product is None:
            report.orphan(number, obj.get("id"), obj["__parentId"])
        elif kind == "image":
            image = image_of(obj)
            if image is None:  # a media image still processing has no image yet
                report.skip(f"{type_and_number(obj.get('id'))[0] or 'image'} without URL")
            else:
                images.get_or_add(number, product, image, type_and_number(obj.get("id"))[1])
        elif kind == "variant":
            variants.append((number, obj, product))
        else:
            links.append((number, obj, kind))
    # After the featured images, so a product's picture keeps its first position.
    with_images: list[Joined] = []
    for number, obj, product in variants:
        image = image_of(obj.get("image"))
        with_images.append((number, obj, product, images.get_or_add(number, product, image, None) if image else None))
    images.save(report)
    if with_images:
        _insert_variants(shop, with_images, report, location)
    if links:
        _insert_links(shop, links, products, report)


# ---------------------------------------------------------------------------------- variants


def _insert_variants(shop: Shop, variants: list[Joined], report: LoadReport, location: Location) -> None:
    have = Counter(
        dict(
            Variant.objects.filter(product_id__in={p.pk for _, _, p, _ in variants})
            .values("product_id")
            .annotate(n=Count("pk"))
            .values_list("product_id", "n")
        )
    )
    reshaped: dict[int, Product] = {}
    rows: list[tuple[int, Variant]] = []
    for number, obj, product, image in variants:
        have[product.pk] += 1
        values = _option_values(product, obj, reshaped)
        rows.append((number, variant_row(shop, obj, product, image, values, have[product.pk])))
    if reshaped:
        Product.objects.bulk_update(list(reshaped.values()), ["options"], batch_size=INSERT_BATCH)
    _insert(Variant, rows, report)
    InventoryLevel.objects.bulk_create(
        [
            InventoryLevel(
                shop=shop, variant=v, location=location, available=v.inventory_quantity, updated_at=v.updated_at
            )
            for _, v in rows
        ],
        batch_size=INSERT_BATCH,
    )


def _option_values(product: Product, obj: dict[str, Any], reshaped: dict[int, Product]) -> list[str | None]:
    """The variant's option1..3 values in the product's option order.

    A value (or, on a product line without ``options``, an option) the product does not list
    yet is added from the variant's ``selectedOptions``; the product goes into `reshaped`.
    """
    selected = [(o.get("name"), o.get("value")) for o in obj.get("selectedOptions") or [] if isinstance(o, dict)]
    for name, value in selected:
        option = next((o for o in product.options if o["name"] == name), None)
        if option is None and len(product.options) < 3:
            position = len(product.options) + 1
            option = {"id": product.legacy_id * 10 + position, "name": name, "position": position, "values": []}
            product.options.append(option)
            reshaped[product.pk] = product
        if option is not None and value not in option["values"]:
            option["values"].append(value)
            reshaped[product.pk] = product
    by_name = dict(selected)
    return [by_name.get(option["name"]) for option in product.options[:3]]


# ---------------------------------------------------------------------------------- collections


def _insert_links(shop: Shop, links: list[Item], products: dict[int, Product], report: LoadReport) -> None:
    """Collection memberships: a product's collection lines and a collection's product lines."""
    collection_ids = {
        type_and_number(obj["__parentId"] if kind == "member" else obj.get("id"))[1] for _, obj, kind in links
    }
    collections = {c.legacy_id: c for c in Collection.objects.for_shop(shop).filter(legacy_id__in=collection_ids)}
    new: list[tuple[int, Collection]] = []
    pairs: list[tuple[Collection, Product]] = []
    for number, obj, kind in links:
        if kind == "member":
            collection = collections.get(type_and_number(obj["__parentId"])[1])
            product = products.get(number_of(obj))
        else:  # a product's collection: created from the line when the file has no collection line
            product = products[type_and_number(obj["__parentId"])[1]]
            collection = collections.get(number_of(obj))
            if collection is None:
                collection = collections[number_of(obj)] = collection_row(shop, obj)
                new.append((number, collection))
        if collection is None or product is None:
            report.orphan(number, obj.get("id"), obj["__parentId"])
            continue
        pairs.append((collection, product))
    if new:
        _insert(Collection, new, report)
    filled = Counter(
        dict(
            CollectionProduct.objects.filter(collection_id__in={c.pk for c, _ in pairs})
            .values("collection_id")
            .annotate(n=Count("pk"))
            .values_list("collection_id", "n")
        )
    )
    rows = []
    for collection, product in pairs:
        filled[collection.pk] += 1
        rows.append(CollectionProduct(collection=collection, product=product, position=filled[collection.pk]))
    CollectionProduct.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
    report.collection_products += len(rows)
