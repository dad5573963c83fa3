"""Deterministic, realistic Shopify products for the sandbox, the demo and the benchmarks.

`generate_products()` yields plain dicts (one per product, variants and images inside) from a
seed, fast and lazily, so a million variants stream in constant memory. The same dicts are
bulk-inserted into a sandbox shop (`sandbox.shopify.loading`) or written straight to a
bulk-operation JSONL file (`write_bulk_jsonl`) exactly as the sandbox's own bulk operation would
write it for `BULK_PRODUCTS_QUERY`.

The mix is chosen to hit every pitfall of docs/shopify-api.md §8: HTML with entities and garbage, empty
vendor and description, unicode and emoji titles, titles over 150 characters, DRAFT / ARCHIVED
and unpublished products, products without images, untracked inventory, CONTINUE with negative
stock, zero prices, compare-at prices above and below the price, null and duplicate SKUs.
"""

import datetime as dt
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from django.utils.text import slugify

from . import ids

# Every timestamp is derived from this instant, so a seed always yields the same catalog.
EPOCH = dt.datetime(2025, 1, 15, 12, 0, 0, tzinfo=dt.UTC)
# Shopify caps variants per product at 2,048; the default mix stays under the old 100 limit.
DEFAULT_MAX_VARIANTS = 100
CDN = "https://cdn.shopify.com/s/files/1/0611/2345/6789/files"

VENDORS = [
    "Northwind Goods",
    "Acme Outfitters",
    "Café Lumière",
    "Harbor & Pine",
    "東京デザイン",
    "دار الورد",
    "Example Studio",
    "Blue Fern Co.",
    "Ōkami Apparel",
    "Maison Élodie",
    "  Trailhead Supply  ",
    "",
]
# type -> (option names, base price range, image keyword)
TYPES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "T-Shirts": (("Size", "Color"), (18, 45)),
    "Hoodies": (("Size", "Color"), (45, 90)),
    "Sneakers": (("Size", "Color"), (60, 180)),
    "Socks": (("Size",), (6, 18)),
    "Mugs": (("Color",), (12, 30)),
    "Candles": (("Size",), (14, 40)),
    "Posters": (("Size", "Material"), (15, 120)),
    "Backpacks": (("Color",), (40, 160)),
    "Notebooks": ((), (5, 25)),
    "Gift Cards": ((), (25, 25)),
}
OPTION_VALUES = {
    "Size": {
        "T-Shirts": ["XS", "S", "M", "L", "XL", "XXL"],
        "Hoodies": ["S", "M", "L", "XL"],
        "Sneakers": ["38", "39", "40", "41", "42", "43", "44", "45"],
        "Socks": ["S/M", "L/XL"],
        "Candles": ["200 g", "400 g", "800 g"],
        "Posters": ["A4", "A3", "50×70 cm"],
    },
    "Color": ["Black", "White", "Navy", "Forest Green", "Rouge", "Sand", "Sky Blue", "Charcoal"],
    "Material": ["Matte paper", "Canvas", "Aluminium"],
}
ADJECTIVES = [
    "Classic",
    "Everyday",
    "Organic",
    "Vintage",
    "Heavyweight",
    "Minimal",
    "Handmade",
    "Recycled",
    "Limited",
    "Essential",
    "Coastal",
    "Alpine",
    "Nordic",
    "Urban",
]
MATERIALS = ["Cotton", "Linen", "Stoneware", "Cedar", "Wool", "Canvas", "Leather", "Soy", "Bamboo", "Hemp"]
UNICODE_TITLES = [
    "桜 Sakura Tee",
    "Café crème Mug ☕",
    "Ночной город Poster",
    "حقيبة ظهر Backpack",
    "Crème brûlée Candle 🕯️",
    "Ünïcödé Hoodie — “Smart quotes”",
    "🔥 Fire Sale Socks 🔥",
    "Señorita Sneakers",
    "北欧 Nordic Notebook",
]
TAGS = ["summer", "winter", "bestseller", "new", "sale", "eco", "gift", "limited", "unisex", "kids", "Meta-exclude"]
PARAGRAPHS = [
    "<p>Made to last &amp; made to move: our {material} {noun} is cut for everyday wear.</p>",
    "<p>Care: wash cold&nbsp;&#8211; hang dry. Colours may vary slightly &lt;3</p>",
    "<ul><li><strong>{material}</strong> sourced responsibly</li><li>Ships in 2&ndash;4 days</li></ul>",
    "<p>Designed in Lisbon, finished by hand. “Quality you can feel.”</p>",
    "<p>Dimensions: 10&quot; × 12&quot;. Caf&eacute; approved.</p>",
    "<h2>Why you'll love it</h2><p>Soft, sturdy &amp; <em>sustainable</em>.</p>",
]
# Each product type's category in Shopify's Standard Product Taxonomy (id, full name).
CATEGORIES = {
    "T-Shirts": ("aa-1-13-8", "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"),
    "Hoodies": ("aa-1-13-13", "Apparel & Accessories > Clothing > Clothing Tops > Hoodies"),
    "Sneakers": ("aa-8-8", "Apparel & Accessories > Shoes > Sneakers"),
    "Socks": ("aa-1-18-7", "Apparel & Accessories > Clothing > Underwear & Socks > Socks"),
    "Mugs": ("hg-11-10-5-5", "Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs"),
    "Candles": ("hg-3-34-2", "Home & Garden > Decor > Home Fragrances > Candles"),
    "Posters": ("hg-3-4-2", "Home & Garden > Decor > Artwork > Posters, Prints, & Visual Artwork"),
    "Backpacks": ("lb-2", "Luggage & Bags > Backpacks"),
    "Notebooks": ("os-4-7-4", "Office Supplies > General Office Supplies > Paper Products > Notebooks & Notepads"),
    # A Shopify vertical Google's taxonomy has no equivalent for.
    "Gift Cards": ("gc-1", "Gift Cards > Digital Gift Cards"),
}
GENDERS = ["unisex", "female", "male", "Women", "Men", "robot"]  # "robot": not a gender Meta knows
PATTERNS = ["Solid", "Striped", "Checked", "Floral"]
GARBAGE = ['<script>alert("x")</script>', "<style>p{color:red}</style>", "<div><p>Unclosed <b>bold", "<!-- note -->"]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _iso(value: dt.datetime | None) -> str | None:
    """Shopify's DateTime format: UTC, seconds, ``Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title(rng: random.Random, product_type: str, index: int) -> str:
    roll = rng.random()
    if roll < 0.06:
        return rng.choice(UNICODE_TITLES)
    noun = product_type.rstrip("s") if product_type not in {"Socks", "Gift Cards"} else product_type
    title = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun}"
    if roll < 0.08:
        # Longer than Meta's 150 characters, with runs of whitespace to collapse.
        title += "   — " + " ".join(rng.choice(ADJECTIVES) for _ in range(30))
    elif roll < 0.5:
        title += f" No. {index}"
    return title


def _description(rng: random.Random, product_type: str) -> str:
    roll = rng.random()
    if roll < 0.05:
        return ""
    material, noun = rng.choice(MATERIALS), product_type.lower()
    parts = [p.format(material=material, noun=noun) for p in rng.sample(PARAGRAPHS, rng.randint(1, 3))]
    if roll < 0.07:
        parts.insert(rng.randint(0, len(parts)), rng.choice(GARBAGE))
    return "".join(parts)


def _option_values(rng: random.Random, name: str, product_type: str) -> list[str]:
    pool = OPTION_VALUES[name]
    values = pool.get(product_type, ["One size"]) if isinstance(pool, dict) else pool
    count = len(values) if name == "Size" else rng.randint(1, min(4, len(values)))
    start = rng.randint(0, len(values) - count)
    return values[start : start + count]


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    if rng.random() < 0.005:
        return Decimal("0.00")
    whole = rng.randint(low, high)
    return Decimal(whole) + rng.choice([Decimal("0.00"), Decimal("0.50"), Decimal("0.95"), Decimal("0.99")])


def _extras(
    seed: int, index: int, id_base: int, product_serial: int, product_type: str, handle: str, has_sale: bool
) -> dict[str, Any]:
    """Category, videos and metafields of one product.

    Drawn from a random stream of their own, so adding them changed no other generated value.
    """
    rng = random.Random(f"{seed}:{index}:extras")
    category_id, category = CATEGORIES[product_type] if rng.random() >= 0.1 else ("", "")
    videos = []
    if rng.random() < 0.2:
        videos.append(
            {
                "id": ids.legacy_id("Video", id_base, product_serial),
                "url": f"{CDN}/{handle}-video.mp4",
                "preview_url": f"{CDN}/{handle}-video-poster.jpg",
            }
        )
    values: dict[str, str] = {}
    if rng.random() < 0.3:
        values["custom.material"] = rng.choice(MATERIALS)
        values["custom.pattern"] = rng.choice(PATTERNS)
        values["mm-google-shopping.gender"] = rng.choice(GENDERS)
        values["custom.age_group"] = rng.choice(["adult", "kids", "all ages"])
    if has_sale and rng.random() < 0.5:
        start = EPOCH + dt.timedelta(days=rng.randint(0, 30))
        values["custom.sale_start_date"] = start.date().isoformat()
        values["custom.sale_end_date"] = (start + dt.timedelta(days=rng.randint(7, 60))).date().isoformat()
    metafields = [
        {
            "id": ids.legacy_id("Metafield", id_base, product_serial * 8 + n),
            "namespace": key.split(".", 1)[0],
            "key": key.split(".", 1)[1],
            "value": value,
            "type": "date" if key.endswith("_date") else "single_line_text_field",
        }
        for n, (key, value) in enumerate(values.items())
    ]
    return {"category_id": category_id, "category_full_name": category, "videos": videos, "metafields": metafields}


def generate_products(
    count: int,
    *,
    seed: int = 1,
    id_base: int = 0,
    start_serial: int = 1,
    max_variants: int = DEFAULT_MAX_VARIANTS,
    big_product_every: int = 0,
    big_product_variants: int = 120,
) -> Iterator[dict[str, Any]]:
    """Yield `count` products (dicts with `variants` and `images` lists), deterministic for a seed.

    Ids come from serial numbers starting at `start_serial` in the block `id_base` (see ids.py);
    each product consumes one serial for itself, one per variant and one per image, and carries
    `next_serial` so a caller knows where the block continues. With `big_product_every=N`, every
    N-th product gets `big_product_variants` variants (the >100-variant edge case).
    """
    rng = random.Random(seed)
    serial = start_serial
    type_names = list(TYPES)
    for index in range(1, count + 1):
        product_type = rng.choice(type_names)
        option_names, (low, high) = TYPES[product_type]
        title = _title(rng, product_type, index)
        product_serial = serial
        serial += 1
        created = EPOCH - dt.timedelta(days=rng.randint(30, 900), seconds=rng.randint(0, 86_399))
        updated = created + dt.timedelta(days=rng.randint(0, 29), seconds=rng.randint(0, 86_399))
        status_roll = rng.random()
        status = "ACTIVE" if status_roll < 0.86 else ("DRAFT" if status_roll < 0.94 else "ARCHIVED")
        published = status == "ACTIVE" and rng.random() > 0.05
        vendor = rng.choice(VENDORS)

        options = [{"name": name, "values": _option_values(rng, name, product_type)} for name in option_names]
        combos: list[tuple[str, ...]] = [()]
        for option in options:
            combos = [combo + (value,) for combo in combos for value in option["values"]]
        limit = max_variants
        if big_product_every and index % big_product_every == 0:
            # The >100-variant edge case: Size x Color wide enough for that many variants.
            colors = OPTION_VALUES["Color"]
            sizes = [f"Size {n}" for n in range(1, -(-big_product_variants // len(colors)) + 1)]
            options = [{"name": "Size", "values": sizes}, {"name": "Color", "values": list(colors)}]
            combos = [(size, color) for size in sizes for color in colors]
            limit = big_product_variants
        combos = combos[:limit]
        # Keep option values to those some variant uses (Shopify does not list unused values).
        for position, option in enumerate(options):
            used = {combo[position] for combo in combos}
            option["values"] = [value for value in option["values"] if value in used]
        if not options:
            options = [{"name": "Title", "values": ["Default Title"]}]
            combos = [("Default Title",)]

        handle = f"{slugify(title)[:200] or 'product'}-{product_serial}"
        images = []
        if rng.random() >= 0.08:
            for position in range(1, rng.randint(1, 4) + 1):
                image_serial = serial
                serial += 1
                images.append(
                    {
                        "legacy_id": ids.legacy_id("ProductImage", id_base, image_serial),
                        "media_legacy_id": ids.legacy_id("MediaImage", id_base, image_serial),
                        "position": position,
                        "url": f"{CDN}/{handle}-{position}.jpg?v={1_700_000_000 + image_serial}",
                        "alt_text": None if rng.random() < 0.5 else f"{title} view {position}",
                        "width": 2048,
                        "height": rng.choice([2048, 1536, 1024]),
                    }
                )

        base_price = _price(rng, low, high)
        sale = rng.random()
        tracked_product = rng.random() >= 0.08
        variants = []
        sku_prefix = (slugify(vendor)[:4] or "gen").upper()
        for position, combo in enumerate(combos, start=1):
            variant_serial = serial
            serial += 1
            price = base_price
            if len(combos) > 1 and rng.random() < 0.2:
                price = base_price + Decimal(rng.choice([2, 5, 10]))
            compare_at = None
            if sale < 0.25:
                compare_at = price + (price * Decimal(rng.choice(["0.2", "0.3", "0.5"]))).quantize(Decimal("1"))
            elif sale < 0.30:
                compare_at = price  # equal: not a sale
            policy = "CONTINUE" if rng.random() < 0.1 else "DENY"
            quantity_roll = rng.random()
            if quantity_roll < 0.15:
                quantity = 0
            elif quantity_roll < 0.17 and policy == "CONTINUE":
                quantity = -rng.randint(1, 5)
            elif quantity_roll < 0.172:
                quantity = 100_000  # absurd stock
            else:
                quantity = rng.randint(1, 50)
            sku_roll = rng.random()
            if sku_roll < 0.05:
                sku = None
            elif sku_roll < 0.07 and variants:
                sku = variants[-1]["sku"]  # duplicate SKU inside a product
            else:
                sku = f"{sku_prefix}-{product_serial % 100_000:05d}-{position:03d}"
            image_index = None
            if images and len(images) > 1 and len(combo) > 1:
                image_index = (position - 1) % len(images)
            variants.append(
                {
                    "legacy_id": ids.legacy_id("ProductVariant", id_base, variant_serial),
                    "inventory_item_legacy_id": ids.legacy_id("InventoryItem", id_base, variant_serial),
                    "title": " / ".join(combo),
                    "option_values": list(combo),
                    "sku": sku,
                    "barcode": None if rng.random() < 0.6 else f"0{rng.randint(10**11, 10**12 - 1)}",
                    "price": price,
                    "compare_at_price": compare_at,
                    "position": position,
                    "inventory_policy": policy,
                    "tracked": tracked_product,
                    "inventory_quantity": quantity,
                    "taxable": product_type != "Gift Cards",
                    "image_index": image_index,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
        product_options = [
            {
                "legacy_id": ids.legacy_id("ProductOption", id_base, product_serial * 3 + position),
                "name": option["name"],
                "position": position,
                "values": option["values"],
            }
            for position, option in enumerate(options, start=1)
        ]
        yield {
            "legacy_id": ids.legacy_id("Product", id_base, product_serial),
            "handle": handle,
            "title": title,
            "description_html": _description(rng, product_type),
            "vendor": vendor,
            "product_type": product_type,
            "status": status,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 4))),
            "options": product_options,
            "published_at": (created + dt.timedelta(hours=1)) if published else None,
            "created_at": created,
            "updated_at": updated,
            "images": images,
            "variants": variants,
            "next_serial": serial,
            **_extras(seed, index, id_base, product_serial, product_type, handle, sale < 0.25),
        }


def count_variants_products(variants: int, *, seed: int = 1, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield generated products until exactly `variants` variants were produced (last one trimmed)."""
    remaining = variants
    for product in generate_products(10**9, seed=seed, **kwargs):
        if remaining <= 0:
            return
        if len(product["variants"]) > remaining:
            product["variants"] = product["variants"][:remaining]
        remaining -= len(product["variants"])
        yield product


# The bulk query whose JSONL `write_bulk_jsonl` reproduces line for line.
BULK_PRODUCTS_QUERY = """
{
  products {
    edges {
      node {
        id legacyResourceId handle title descriptionHtml vendor productType status tags
        createdAt updatedAt publishedAt onlineStoreUrl totalInventory
        featuredMedia { preview { image { url altText } } }
        options { id name position values }
        media { edges { node { ... on MediaImage { id image { url altText width height } } } } }
        variants {
          edges {
            node {
              id legacyResourceId title sku barcode price compareAtPrice position
              inventoryQuantity inventoryPolicy availableForSale taxable
              selectedOptions { name value }
              image { url altText }
              inventoryItem { id tracked }
              createdAt updatedAt
            }
          }
        }
      }
    }
  }
}
"""


def product_jsonl_objects(product: dict[str, Any], storefront_url: str) -> Iterator[dict[str, Any]]:
    """The JSONL objects (product line, then media and variant lines) for one generated product."""
    gid = ids.gid("Product", product["legacy_id"])
    images = product["images"]
    active = product["status"] == "ACTIVE"
    on_store = active and product["published_at"] is not None
    tracked_total = sum(v["inventory_quantity"] for v in product["variants"] if v["tracked"])
    featured = images[0] if images else None
    option_names = [o["name"] for o in product["options"]]
    yield {
        "id": gid,
        "legacyResourceId": str(product["legacy_id"]),
        "handle": product["handle"],
        "title": product["title"],
        "descriptionHtml": product["description_html"],
        "vendor": product["vendor"],
        "productType": product["product_type"],
        "status": product["status"],
        "tags": product["tags"],
        "createdAt": _iso(product["created_at"]),
        "updatedAt": _iso(product["updated_at"]),
        "publishedAt": _iso(product["published_at"]),
        "onlineStoreUrl": f"{storefront_url}/products/{product['handle']}" if on_store else None,
        "totalInventory": tracked_total,
        "featuredMedia": (
            {"preview": {"image": {"url": featured["url"], "altText": featured["alt_text"]}}} if featured else None
        ),
        "options": [
            {
                "id": ids.gid("ProductOption", o["legacy_id"]),
                "name": o["name"],
                "position": o["position"],
                "values": o["values"],
            }
            for o in product["options"]
        ],
    }
    for image in images:
        yield {
            "id": ids.gid("MediaImage", image["media_legacy_id"]),
            "image": {
                "url": image["url"],
                "altText": image["alt_text"],
                "width": image["width"],
                "height": image["height"],
            },
            "__parentId": gid,
        }
    for variant in product["variants"]:
        image = images[variant["image_index"]] if variant["image_index"] is not None else None
        quantity = variant["inventory_quantity"]
        available = on_store and (not variant["tracked"] or quantity > 0 or variant["inventory_policy"] == "CONTINUE")
        yield {
            "id": ids.gid("ProductVariant", variant["legacy_id"]),
            "legacyResourceId": str(variant["legacy_id"]),
            "title": variant["title"],
            "sku": variant["sku"],
            "barcode": variant["barcode"],
            "price": _money(variant["price"]),
            "compareAtPrice": _money(variant["compare_at_price"]) if variant["compare_at_price"] is not None else None,
            "position": variant["position"],
            "inventoryQuantity": quantity,
            "inventoryPolicy": variant["inventory_policy"],
            "availableForSale": available,
            "taxable": variant["taxable"],
            "selectedOptions": [
                {"name": name, "value": value}
                for name, value in zip(option_names, variant["option_values"], strict=False)
            ],
            "image": {"url": image["url"], "altText": image["alt_text"]} if image else None,
            "inventoryItem": {
                "id": ids.gid("InventoryItem", variant["inventory_item_legacy_id"]),
                "tracked": variant["tracked"],
            },
            "createdAt": _iso(variant["created_at"]),
            "updatedAt": _iso(variant["updated_at"]),
            "__parentId": gid,
        }


def dump_jsonl_line(obj: dict[str, Any]) -> str:
    """One JSONL line as Shopify writes it: compact, UTF-8 kept, newline-terminated."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_bulk_jsonl(
    out: IO[str],
    *,
    variants: int | None = None,
    products: int | None = None,
    seed: int = 1,
    id_base: int = ids.SHOP_ID_BLOCK,
    storefront_url: str = "https://sandbox-store.example",
    **kwargs: Any,
) -> dict[str, int]:
    """Write a bulk-operation JSONL of `variants` variants (or `products` products) to `out`.

    Streams in constant memory (one product at a time). Returns counts: products, variants,
    objects (lines) and bytes written.
    """
    if (variants is None) == (products is None):
        raise ValueError("Give exactly one of variants= or products=.")
    source = (
        count_variants_products(variants, seed=seed, id_base=id_base, **kwargs)
        if variants is not None
        else generate_products(products, seed=seed, id_base=id_base, **kwargs)
    )
    counts = {"products": 0, "variants": 0, "objects": 0, "bytes": 0}
    for product in source:
        counts["products"] += 1
        counts["variants"] += len(product["variants"])
        for obj in product_jsonl_objects(product, storefront_url):
            line = dump_jsonl_line(obj)
            out.write(line)
            counts["objects"] += 1
            counts["bytes"] += len(line.encode())
    return counts
