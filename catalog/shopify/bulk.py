"""Group a bulk operation's JSONL lines back into products, in bounded memory.

In a bulk result every object of a nested connection is its own line carrying
``"__parentId"`` (docs/shopify-api.md §5). Parents come before their children, but children are
not guaranteed to follow their parent directly. We keep a window of "open" products
(the most recent ``window`` parents) and attach children to them; the oldest open
product is emitted once the window is full. A child whose parent already left the
window is emitted as an orphan and applied on its own (its product is in the database
by then), so nothing is lost and memory stays bounded by the window, not the file.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .client import gid_number
from .records import (
    CollectionRecord,
    ProductRecord,
    VariantRecord,
    collection_from_graphql,
    product_from_graphql,
    variant_from_graphql,
)

# Parents kept open for late children. Shopify writes children right after their
# parent in practice; the window only absorbs reordering.
OPEN_WINDOW = 500


def gid_type(gid: str | None) -> str:
    """``gid://shopify/ProductVariant/1`` -> ``ProductVariant``."""
    if not gid or not str(gid).startswith("gid://"):
        return ""
    parts = str(gid).split("/")
    return parts[3] if len(parts) > 3 else ""


@dataclass
class _OpenProduct:
    line: dict
    media: list[dict] = field(default_factory=list)
    variants: list[dict] = field(default_factory=list)
    metafields: list[dict] = field(default_factory=list)

    def record(self) -> ProductRecord | None:
        return product_from_graphql(
            self.line, media_nodes=self.media, variant_nodes=self.variants, metafield_nodes=self.metafields
        )


@dataclass
class Grouped:
    """One product with all its children, or an orphan variant whose product left the window."""

    product: ProductRecord | None = None
    orphan_variant: VariantRecord | None = None


def group_products(lines: Iterable[dict], *, window: int = OPEN_WINDOW) -> Iterator[Grouped]:
    """Products (with media, variants and metafields attached) from the lines of the products bulk query."""
    open_products: OrderedDict[str, _OpenProduct] = OrderedDict()
    for line in lines:
        parent = line.get("__parentId")
        if not parent:
            if gid_type(line.get("id")) != "Product":
                continue
            open_products[line["id"]] = _OpenProduct(line)
            while len(open_products) > window:
                _, oldest = open_products.popitem(last=False)
                if (record := oldest.record()) is not None:
                    yield Grouped(product=record)
            continue
        holder = open_products.get(parent)
        kind = gid_type(line.get("id"))
        is_media = "mediaContentType" in line or kind in ("MediaImage", "Video", "ExternalVideo", "Model3d")
        if holder is not None:
            if kind == "ProductVariant":
                holder.variants.append(line)
            elif is_media:
                holder.media.append(line)
            elif kind == "Metafield" or "namespace" in line:
                holder.metafields.append(line)
        elif kind == "ProductVariant" and (product_id := gid_number(parent)) is not None:
            variant = variant_from_graphql(line, product_id)
            if variant is not None:
                yield Grouped(orphan_variant=variant)
        # A media or metafield line whose product already left the window is dropped: the
        # next import brings it (the product was written without it); it never corrupts
        # stored data.
    for holder in open_products.values():
        if (record := holder.record()) is not None:
            yield Grouped(product=record)


def group_collections(lines: Iterable[dict]) -> tuple[list[CollectionRecord], dict[int, list[int]]]:
    """Collections and their member product ids from the collections bulk query.

    Memberships are kept as ints (a few bytes each): stores have at most thousands of
    collections, and members are needed whole to replace each set's membership.
    """
    collections: dict[str, CollectionRecord] = {}
    members: dict[int, list[int]] = {}
    for line in lines:
        parent = line.get("__parentId")
        if not parent:
            if gid_type(line.get("id")) == "Collection" and (record := collection_from_graphql(line)):
                collections[line["id"]] = record
            continue
        collection_id = gid_number(parent)
        product_id = gid_number(line.get("legacyResourceId")) or gid_number(line.get("id"))
        if collection_id is not None and product_id is not None and gid_type(parent) == "Collection":
            members.setdefault(collection_id, []).append(product_id)
    return list(collections.values()), members
