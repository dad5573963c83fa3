"""Fill a sandbox shop in bulk from generated products (a JSONL file: `jsonl_loading`).

Products are streamed and inserted in batches (`bulk_create`), so a shop of any size loads in
bounded memory. Product dicts have the shape `generator.generate_products()` yields.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction

from . import ids
from .collections import refresh_smart_memberships
from .models import InventoryLevel, Location, Product, ProductImage, Shop, Variant

# Products per insert round trip; variants and images follow their products in the same round.
LOAD_BATCH_PRODUCTS = 500
# Orphan lines named in a load report (the count is always complete).
MAX_ORPHAN_EXAMPLES = 5


@dataclass
class LoadReport:
    """What a load put into the shop (``sandbox_account`` prints it as ``loaded``).

    `orphans`: lines whose parent is not in the file (not loaded), `orphan_examples` the first
    few; `skipped`: lines of types the sandbox does not model, counted by type.
    """

    lines: int = 0
    products: int = 0
    variants: int = 0
    images: int = 0
    collections: int = 0
    collection_products: int = 0
    orphans: int = 0
    orphan_examples: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def orphan(self, line: int, child_id: Any, parent_id: str) -> None:
        self.orphans += 1
        if len(self.orphan_examples) < MAX_ORPHAN_EXAMPLES:
            self.orphan_examples.append({"line": line, "id": child_id, "parent": parent_id})

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_location(shop: Shop) -> Location:
    """The shop's first location, created on first use."""
    location = shop.locations.order_by("legacy_id").first()
    if location is None:
        location = Location.objects.create(shop=shop, legacy_id=shop.new_legacy_id("Location"), name="Main warehouse")
    return location


def load_products(shop: Shop, products: Iterable[dict[str, Any]], *, batch_size: int = LOAD_BATCH_PRODUCTS) -> dict:
    """Insert product dicts (with variants and images) into `shop`; return counts."""
    location = default_location(shop)
    counts = {"products": 0, "variants": 0, "images": 0}
    max_serial = shop.next_serial - 1
    batch: list[dict[str, Any]] = []
    for product in products:
        batch.append(product)
        if len(batch) >= batch_size:
            _insert_batch(shop, location, batch, counts)
            batch = []
        max_serial = max(max_serial, product.get("next_serial", 0) - 1)
    if batch:
        _insert_batch(shop, location, batch, counts)
    finish_load(shop, max_serial)
    return counts


def finish_load(shop: Shop, max_serial: int = 0) -> None:
    """After a load: new ids start past every loaded one; smart collections match the products."""
    max_serial = max(max_serial, _max_serial_in_block(shop))
    Shop.objects.filter(pk=shop.pk, next_serial__lte=max_serial).update(next_serial=max_serial + 1)
    shop.refresh_from_db(fields=["next_serial"])
    refresh_smart_memberships(shop)


def _max_serial_in_block(shop: Shop) -> int:
    """Highest serial used by loaded ids that fall in this shop's own block (JSONL files may)."""
    best = 0
    for model, type_name in ((Product, "Product"), (Variant, "ProductVariant")):
        top = model.objects.filter(shop=shop).order_by("-legacy_id").values_list("legacy_id", flat=True).first()
        if top is not None:
            serial = top - ids.PREFIXES[type_name] - shop.id_base
            if 0 <= serial < ids.SHOP_ID_BLOCK:
                best = max(best, serial)
    return best


@transaction.atomic
def _insert_batch(shop: Shop, location: Location, batch: list[dict[str, Any]], counts: dict) -> None:
    product_rows = [
        Product(
            shop=shop,
            legacy_id=p["legacy_id"],
            handle=p["handle"],
            title=p["title"],
            description_html=p["description_html"],
            vendor=p["vendor"],
            product_type=p["product_type"],
            status=p["status"],
            tags=p["tags"],
            options=[
                {"id": o["legacy_id"], "name": o["name"], "position": o["position"], "values": o["values"]}
                for o in p["options"]
            ],
            published_at=p["published_at"],
            category_id=p.get("category_id", ""),
            category_full_name=p.get("category_full_name", ""),
            videos=p.get("videos", []),
            metafields=p.get("metafields", []),
            created_at=p["created_at"],
            updated_at=p["updated_at"],
        )
        for p in batch
    ]
    Product.objects.bulk_create(product_rows, batch_size=500)
    image_rows: list[ProductImage] = []
    images_of: list[list[ProductImage]] = []
    for p, row in zip(batch, product_rows, strict=True):
        mine = [
            ProductImage(
                shop=shop,
                product=row,
                legacy_id=i["legacy_id"],
                media_legacy_id=i["media_legacy_id"],
                position=i["position"],
                url=i["url"],
                alt_text=i["alt_text"],
                width=i.get("width"),
                height=i.get("height"),
                created_at=p["created_at"],
                updated_at=p["updated_at"],
            )
            for i in p["images"]
        ]
        images_of.append(mine)
        image_rows.extend(mine)
    ProductImage.objects.bulk_create(image_rows, batch_size=500)
    variant_rows: list[Variant] = []
    for p, row, mine in zip(batch, product_rows, images_of, strict=True):
        for v in p["variants"]:
            values = list(v["option_values"]) + [None, None, None]
            variant_rows.append(
                Variant(
                    shop=shop,
                    product=row,
                    legacy_id=v["legacy_id"],
                    title=v["title"],
                    sku=v["sku"],
                    barcode=v["barcode"],
                    price=v["price"],
                    compare_at_price=v["compare_at_price"],
                    position=v["position"],
                    inventory_policy=v["inventory_policy"],
                    option1=values[0],
                    option2=values[1],
                    option3=values[2],
                    image=mine[v["image_index"]] if v["image_index"] is not None else None,
                    taxable=v["taxable"],
                    inventory_item_legacy_id=v["inventory_item_legacy_id"],
                    tracked=v["tracked"],
                    inventory_quantity=v["inventory_quantity"],
                    created_at=v["created_at"],
                    updated_at=v["updated_at"],
                )
            )
    Variant.objects.bulk_create(variant_rows, batch_size=500)
    InventoryLevel.objects.bulk_create(
        [
            InventoryLevel(
                shop=shop, variant=v, location=location, available=v.inventory_quantity, updated_at=v.updated_at
            )
            for v in variant_rows
        ],
        batch_size=500,
    )
    counts["products"] += len(product_rows)
    counts["variants"] += len(variant_rows)
    counts["images"] += len(image_rows)
