"""Field resolvers of the object types (Product, ProductVariant, InventoryItem, Collection, ...)."""

import html
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from graphql import GraphQLResolveInfo

from .. import ids
from ..models import (
    BulkOperation,
    Collection,
    InventoryLevel,
    Location,
    Order,
    Product,
    ProductImage,
    Shop,
    Variant,
    WebhookSubscription,
)
from .connections import list_connection, queryset_connection
from .errors import UserFacingError
from .registry import resolves, selected_names

Info = GraphQLResolveInfo


@dataclass(frozen=True)
class InventoryItemRef:
    """The InventoryItem of a variant (both live in one row)."""

    variant: Variant


@dataclass(frozen=True)
class MediaPreview:
    image: "ProductImage | VideoPoster"


@dataclass(frozen=True)
class VideoPoster:
    """The preview image of a video (an ``Image`` without a row of its own)."""

    gid: str
    url: str
    alt_text: str | None = None
    width: int | None = 1920
    height: int | None = 1080


@dataclass(frozen=True)
class ProductVideo:
    """One of a product's videos (``Product.videos``), served as ``Video`` media."""

    product: Product
    legacy_id: int
    url: str
    preview_url: str
    alt: str | None = None

    @property
    def gid(self) -> str:
        return ids.gid("Video", self.legacy_id)


def videos_of(product: Product) -> list[ProductVideo]:
    return [
        ProductVideo(product, int(v["id"]), v["url"], v.get("preview_url") or "", v.get("alt"))
        for v in product.videos or []
        if isinstance(v, dict) and v.get("url")
    ]


def media_of(product: Product) -> list:
    """A product's media as Shopify orders them here: its images, then its videos."""
    return [*images_of(product), *videos_of(product)]


def metafield_node(product: Product, metafield: dict) -> dict[str, Any]:
    return {
        "__typename": "Metafield",
        "id": ids.gid("Metafield", metafield.get("id") or 0),
        "namespace": metafield.get("namespace") or "",
        "key": metafield.get("key") or "",
        "value": str(metafield.get("value") if metafield.get("value") is not None else ""),
        "type": metafield.get("type") or "single_line_text_field",
        "jsonValue": metafield.get("value"),
        "createdAt": product.created_at,
        "updatedAt": product.updated_at,
    }


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def strip_html(text: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text or "")
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return re.sub(r"\s+", " ", text).strip()


def variants_of(product: Product) -> list[Variant]:
    """The product's variants in position order (uses the prefetch cache when present)."""
    return sorted(product.variants.all(), key=lambda v: (v.position, v.legacy_id))


def images_of(product: Product) -> list[ProductImage]:
    return sorted(product.images.all(), key=lambda i: (i.position, i.legacy_id))


def product_queryset(info: Info, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Prefetch what the selection below needs, so a page costs a fixed number of queries."""
    names = selected_names(info)
    if names & {
        "variants",
        "totalInventory",
        "tracksInventory",
        "hasOnlyDefaultVariant",
        "hasOutOfStockVariants",
        "priceRangeV2",
        "variantsCount",
    }:
        queryset = queryset.prefetch_related(
            Prefetch("variants", queryset=Variant.objects.select_related("image").order_by("position", "legacy_id"))
        )
    if names & {"images", "media", "featuredImage", "featuredMedia", "mediaCount"}:
        queryset = queryset.prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position")))
    if "collections" in names:
        queryset = queryset.prefetch_related("collections")
    return queryset


def version_at_least(info: Info, version: str) -> bool:
    return info.context.version_key >= version


def count_object(value: int, limit: int | None = None) -> dict[str, Any]:
    if limit is not None and value > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": value, "precision": "EXACT"}


# ------------------------------------------------------------------------------------ Shop


@resolves("Shop", "id")
def _shop_id(shop: Shop, info: Info) -> str:
    return ids.gid("Shop", shop.pk)


@resolves("Shop", "myshopifyDomain")
def _shop_domain(shop: Shop, info: Info) -> str:
    return shop.domain


@resolves("Shop", "email", "contactEmail")
def _shop_email(shop: Shop, info: Info) -> str:
    return shop.email or f"owner@{shop.domain}"


@resolves("Shop", "url")
def _shop_url(shop: Shop, info: Info) -> str:
    return shop.storefront_url


@resolves("Shop", "currencyCode")
def _shop_currency(shop: Shop, info: Info) -> str:
    return shop.currency_code


@resolves("Shop", "enabledPresentmentCurrencies")
def _shop_currencies(shop: Shop, info: Info) -> list[str]:
    return [shop.currency_code]


@resolves("Shop", "primaryDomain")
def _shop_primary_domain(shop: Shop, info: Info) -> dict[str, Any]:
    url = shop.storefront_url
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return {"id": ids.gid("Domain", shop.pk), "host": host, "url": url, "sslEnabled": url.startswith("https://")}


@resolves("Shop", "ianaTimezone")
def _shop_timezone(shop: Shop, info: Info) -> str:
    return shop.iana_timezone


@resolves("Shop", "plan")
def _shop_plan(shop: Shop, info: Info) -> dict[str, Any]:
    return {"displayName": "Basic", "partnerDevelopment": False, "shopifyPlus": False}


@resolves("Shop", "productTypes")
def _shop_product_types(shop: Shop, info: Info, first: int) -> dict[str, Any]:
    types = sorted(set(Product.objects.for_shop(shop).exclude(product_type="").values_list("product_type", flat=True)))
    return list_connection(types, first=first)


# --------------------------------------------------------------------------------- Product


@resolves("Product", "id")
@resolves("ProductVariant", "id")
@resolves("Collection", "id")
@resolves("Location", "id")
@resolves("BulkOperation", "id")
@resolves("WebhookSubscription", "id")
@resolves("Order", "id")
def _gid(obj: Any, info: Info) -> str:
    return obj.gid


@resolves("Product", "legacyResourceId")
@resolves("ProductVariant", "legacyResourceId")
@resolves("Collection", "legacyResourceId")
@resolves("Location", "legacyResourceId")
@resolves("WebhookSubscription", "legacyResourceId")
@resolves("Order", "legacyResourceId")
def _legacy(obj: Any, info: Info) -> int:
    return obj.legacy_id


@resolves("Product", "description")
@resolves("Collection", "description")
def _description(obj: Product | Collection, info: Info, truncateAt: int | None = None) -> str:
    text = strip_html(obj.description_html)
    if truncateAt is not None and len(text) > truncateAt:
        text = text[: max(truncateAt - 3, 0)].rstrip() + "..."
    return text


@resolves("Product", "descriptionHtml")
@resolves("Collection", "descriptionHtml")
def _description_html(obj: Product | Collection, info: Info) -> str:
    return obj.description_html


@resolves("Product", "productType")
def _product_type(p: Product, info: Info) -> str:
    return p.product_type


@resolves("Product", "status")
def _product_status(p: Product, info: Info) -> str:
    # UNLISTED exists from 2025-10; older versions report such products as ACTIVE.
    if p.status == Product.Status.UNLISTED and not version_at_least(info, "2025-10"):
        return Product.Status.ACTIVE
    return p.status


@resolves("Product", "createdAt")
@resolves("ProductVariant", "createdAt")
@resolves("Collection", "createdAt")
@resolves("BulkOperation", "createdAt")
@resolves("WebhookSubscription", "createdAt")
@resolves("Order", "createdAt")
@resolves("MediaImage", "createdAt")
@resolves("InventoryLevel", "createdAt")
def _created_at(obj: Any, info: Info) -> Any:
    return obj.created_at


@resolves("Product", "updatedAt")
@resolves("ProductVariant", "updatedAt")
@resolves("Collection", "updatedAt")
@resolves("WebhookSubscription", "updatedAt")
@resolves("Order", "updatedAt")
@resolves("MediaImage", "updatedAt")
@resolves("InventoryLevel", "updatedAt")
def _updated_at(obj: Any, info: Info) -> Any:
    return obj.updated_at


@resolves("Product", "publishedAt")
def _published_at(p: Product, info: Info) -> Any:
    return p.published_at


@resolves("Product", "onlineStoreUrl")
def _online_store_url(p: Product, info: Info) -> str | None:
    if p.published_at is None or p.status != Product.Status.ACTIVE:
        return None
    return f"{info.context.shop.storefront_url}/products/{p.handle}"


@resolves("Product", "onlineStorePreviewUrl")
def _online_store_preview_url(p: Product, info: Info) -> str:
    return f"{info.context.shop.storefront_url}/products/{p.handle}?preview_key=sandbox"


@resolves("Product", "templateSuffix")
def _template_suffix(p: Product, info: Info) -> str | None:
    return p.template_suffix


@resolves("Product", "totalInventory")
def _total_inventory(p: Product, info: Info) -> int:
    return sum(v.inventory_quantity for v in variants_of(p) if v.tracked)


@resolves("Product", "tracksInventory")
def _tracks_inventory(p: Product, info: Info) -> bool:
    return any(v.tracked for v in variants_of(p))


@resolves("Product", "hasOnlyDefaultVariant")
def _only_default(p: Product, info: Info) -> bool:
    variants = variants_of(p)
    return len(variants) == 1 and variants[0].title == "Default Title"


@resolves("Product", "hasOutOfStockVariants")
def _out_of_stock(p: Product, info: Info) -> bool:
    return any(v.tracked and v.inventory_quantity <= 0 for v in variants_of(p))


@resolves("Product", "isGiftCard")
def _gift_card(p: Product, info: Info) -> bool:
    return p.product_type == "Gift Cards"


@resolves("Product", "featuredImage")
def _featured_image(p: Product, info: Info) -> ProductImage | None:
    images = images_of(p)
    return images[0] if images else None


@resolves("Product", "featuredMedia")
def _featured_media(p: Product, info: Info) -> ProductImage | None:
    images = images_of(p)
    return images[0] if images else None


@resolves("Product", "images")
def _product_images(p: Product, info: Info, **args: Any) -> dict[str, Any]:
    return list_connection(images_of(p), bulk=info.context.bulk, **args)


@resolves("Product", "media")
def _product_media(p: Product, info: Info, query: str | None = None, **args: Any) -> dict[str, Any]:
    return list_connection(media_of(p), bulk=info.context.bulk, **args)


@resolves("Product", "mediaCount")
def _media_count(p: Product, info: Info) -> dict[str, Any]:
    return count_object(len(media_of(p)))


@resolves("Product", "category")
def _category(p: Product, info: Info) -> dict[str, Any] | None:
    if not p.category_id:
        return None
    names = [part.strip() for part in p.category_full_name.split(">")]
    parts = p.category_id.split("-")
    return {
        "id": ids.gid("TaxonomyCategory", p.category_id),
        "name": names[-1],
        "fullName": " > ".join(names),
        "isLeaf": True,
        "isRoot": len(parts) == 1,
        "level": len(parts),
        "ancestorIds": [ids.gid("TaxonomyCategory", "-".join(parts[:n])) for n in range(len(parts) - 1, 0, -1)],
    }


def _metafields_matching(p: Product, namespace: str | None, keys: list[str] | None) -> list[dict]:
    found = [m for m in p.metafields or [] if isinstance(m, dict)]
    if namespace is not None:
        found = [m for m in found if m.get("namespace") == namespace]
    if keys is not None:
        wanted = set(keys)
        found = [m for m in found if f"{m.get('namespace')}.{m.get('key')}" in wanted]
    return [metafield_node(p, m) for m in found]


@resolves("Product", "metafields")
def _product_metafields(
    p: Product, info: Info, namespace: str | None = None, keys: list[str] | None = None, **args: Any
) -> dict[str, Any]:
    return list_connection(_metafields_matching(p, namespace, keys), bulk=info.context.bulk, **args)


@resolves("Product", "metafield")
def _product_metafield(p: Product, info: Info, key: str, namespace: str | None = None) -> dict[str, Any] | None:
    if namespace is None and "." in key:
        namespace, key = key.split(".", 1)
    found = _metafields_matching(p, namespace, [f"{namespace}.{key}"])
    return found[0] if found else None


@resolves("Product", "options")
def _options(p: Product, info: Info, first: int | None = None) -> list[dict[str, Any]]:
    used = [set() for _ in range(3)]
    for variant in variants_of(p):
        for index, value in enumerate((variant.option1, variant.option2, variant.option3)):
            if value is not None:
                used[index].add(value)
    options = []
    for index, option in enumerate(p.options[: first or None]):
        options.append(
            {
                "id": ids.gid("ProductOption", option["id"]),
                "name": option["name"],
                "position": option.get("position", index + 1),
                "values": option["values"],
                "optionValues": [
                    {
                        "id": ids.gid("ProductOptionValue", option["id"] * 100 + n),
                        "name": value,
                        "hasVariants": value in used[index] if index < 3 else False,
                    }
                    for n, value in enumerate(option["values"], start=1)
                ],
            }
        )
    return options


VARIANT_LIST_KEYS = {
    "POSITION": lambda v: (v.position, v.legacy_id),
    "RELEVANCE": lambda v: (v.position, v.legacy_id),
    "ID": lambda v: v.legacy_id,
    "SKU": lambda v: (v.sku or "", v.legacy_id),
    "TITLE": lambda v: (v.title, v.legacy_id),
}


@resolves("Product", "variants")
def _product_variants(p: Product, info: Info, sortKey: str = "POSITION", **args: Any) -> dict[str, Any]:
    variants = sorted(p.variants.all(), key=VARIANT_LIST_KEYS[sortKey])
    return list_connection(variants, bulk=info.context.bulk, **args)


@resolves("Product", "variantsCount")
def _variants_count(p: Product, info: Info) -> dict[str, Any]:
    return count_object(len(variants_of(p)))


@resolves("Product", "collections")
def _product_collections(p: Product, info: Info, sortKey: str = "ID", query: str | None = None, **args: Any) -> dict:
    collections = sorted(p.collections.all(), key=COLLECTION_LIST_KEYS[sortKey])
    return list_connection(collections, bulk=info.context.bulk, **args)


COLLECTION_LIST_KEYS = {
    "ID": lambda c: c.legacy_id,
    "RELEVANCE": lambda c: c.legacy_id,
    "TITLE": lambda c: (c.title, c.legacy_id),
    "UPDATED_AT": lambda c: (c.updated_at, c.legacy_id),
}


@resolves("Product", "inCollection")
def _in_collection(p: Product, info: Info, id: str) -> bool:
    parsed = ids.parse_gid(id)
    if not parsed or parsed[0] != "Collection":
        raise UserFacingError(f"Invalid global id '{id}'")
    return p.memberships.filter(collection__legacy_id=parsed[1]).exists()


@resolves("Product", "priceRangeV2")
def _price_range(p: Product, info: Info) -> dict[str, Any]:
    prices = [v.price for v in variants_of(p)] or [Decimal("0")]
    currency = info.context.shop.currency_code
    return {
        "minVariantPrice": {"amount": min(prices), "currencyCode": currency},
        "maxVariantPrice": {"amount": max(prices), "currencyCode": currency},
    }


@resolves("Product", "seo")
@resolves("Collection", "seo")
def _seo(obj: Any, info: Info) -> dict[str, Any]:
    return {"title": None, "description": None}


# -------------------------------------------------------------------------- Image / Media


@resolves("Image", "id")
def _image_id(image: ProductImage, info: Info) -> str:
    return image.gid


@resolves("Image", "altText")
def _image_alt(image: ProductImage, info: Info) -> str | None:
    return image.alt_text


@resolves("Image", "url", "src", "originalSrc", "transformedSrc")
def _image_url(image: ProductImage, info: Info, **args: Any) -> str:
    return image.url


@resolves("MediaImage", "id")
def _media_id(image: ProductImage, info: Info) -> str:
    return image.media_gid


@resolves("MediaImage", "alt")
def _media_alt(image: ProductImage, info: Info) -> str | None:
    return image.alt_text


@resolves("MediaImage", "image")
def _media_image(image: ProductImage, info: Info) -> ProductImage:
    return image


@resolves("MediaImage", "mediaContentType")
def _media_type(image: ProductImage, info: Info) -> str:
    return "IMAGE"


@resolves("MediaImage", "status")
def _media_status(image: ProductImage, info: Info) -> str:
    return "READY"


@resolves("MediaImage", "mimeType")
def _media_mime(image: ProductImage, info: Info) -> str:
    return "image/png" if image.url.split("?")[0].endswith(".png") else "image/jpeg"


@resolves("MediaImage", "preview")
def _media_preview(image: ProductImage, info: Info) -> MediaPreview:
    return MediaPreview(image)


@resolves("Video", "id")
def _video_id(video: ProductVideo, info: Info) -> str:
    return video.gid


@resolves("Video", "mediaContentType")
def _video_type(video: ProductVideo, info: Info) -> str:
    return "VIDEO"


@resolves("Video", "status")
def _video_status(video: ProductVideo, info: Info) -> str:
    return "READY"


@resolves("Video", "preview")
def _video_preview(video: ProductVideo, info: Info) -> MediaPreview:
    return MediaPreview(VideoPoster(ids.gid("ProductImage", video.legacy_id), video.preview_url or video.url))


@resolves("Video", "filename")
def _video_filename(video: ProductVideo, info: Info) -> str:
    return video.url.split("?")[0].rsplit("/", 1)[-1]


@resolves("Video", "sources")
def _video_sources(video: ProductVideo, info: Info) -> list[dict[str, Any]]:
    # Shopify lists an HLS stream beside the MP4 renditions.
    base = video.url.split("?")[0].rsplit(".", 1)[0]
    return [
        {"url": f"{base}.m3u8", "mimeType": "application/x-mpegURL", "format": "m3u8", "height": 1080, "width": 1920},
        {"url": video.url, "mimeType": "video/mp4", "format": "mp4", "height": 1080, "width": 1920},
    ]


@resolves("Video", "originalSource")
def _video_original(video: ProductVideo, info: Info) -> dict[str, Any]:
    return {"url": video.url, "mimeType": "video/mp4", "format": "mp4", "height": 1080, "width": 1920}


@resolves("Video", "createdAt")
def _video_created(video: ProductVideo, info: Info):
    return video.product.created_at


@resolves("Video", "updatedAt")
def _video_updated(video: ProductVideo, info: Info):
    return video.product.updated_at


@resolves("MediaPreviewImage", "image")
def _preview_image(preview: MediaPreview, info: Info) -> ProductImage:
    return preview.image


@resolves("MediaPreviewImage", "status")
def _preview_status(preview: MediaPreview, info: Info) -> str:
    return "READY"


# -------------------------------------------------------------------------- ProductVariant


@resolves("ProductVariant", "displayName")
def _display_name(v: Variant, info: Info) -> str:
    return f"{v.product.title} - {v.title}"


@resolves("ProductVariant", "price")
def _price(v: Variant, info: Info) -> str:
    return money(v.price)


@resolves("ProductVariant", "compareAtPrice")
def _compare_at(v: Variant, info: Info) -> str | None:
    return money(v.compare_at_price)


@resolves("ProductVariant", "inventoryQuantity")
def _inventory_quantity(v: Variant, info: Info) -> int:
    return v.inventory_quantity


@resolves("ProductVariant", "inventoryPolicy")
def _inventory_policy(v: Variant, info: Info) -> str:
    return v.inventory_policy


@resolves("ProductVariant", "availableForSale")
def _available(v: Variant, info: Info) -> bool:
    return v.available_for_sale(v.product)


@resolves("ProductVariant", "sellableOnlineQuantity")
def _sellable(v: Variant, info: Info) -> int:
    return max(v.inventory_quantity, 0) if v.available_for_sale(v.product) else 0


@resolves("ProductVariant", "selectedOptions")
def _selected_options(v: Variant, info: Info) -> list[dict[str, str]]:
    return v.selected_options(v.product)


@resolves("ProductVariant", "media")
def _variant_media(v: Variant, info: Info, **args: Any) -> dict[str, Any]:
    return list_connection([v.image] if v.image_id else [], bulk=info.context.bulk, **args)


@resolves("ProductVariant", "inventoryItem")
def _inventory_item(v: Variant, info: Info) -> InventoryItemRef:
    return InventoryItemRef(v)


# --------------------------------------------------------------------------- InventoryItem


@resolves("InventoryItem", "id")
def _item_id(item: InventoryItemRef, info: Info) -> str:
    return item.variant.inventory_item_gid


@resolves("InventoryItem", "legacyResourceId")
def _item_legacy(item: InventoryItemRef, info: Info) -> int:
    return item.variant.inventory_item_legacy_id


@resolves("InventoryItem", "sku")
def _item_sku(item: InventoryItemRef, info: Info) -> str | None:
    return item.variant.sku


@resolves("InventoryItem", "tracked")
def _item_tracked(item: InventoryItemRef, info: Info) -> bool:
    return item.variant.tracked


@resolves("InventoryItem", "requiresShipping")
def _item_shipping(item: InventoryItemRef, info: Info) -> bool:
    return item.variant.requires_shipping


@resolves("InventoryItem", "createdAt")
def _item_created(item: InventoryItemRef, info: Info) -> Any:
    return item.variant.created_at


@resolves("InventoryItem", "updatedAt")
def _item_updated(item: InventoryItemRef, info: Info) -> Any:
    return item.variant.updated_at


@resolves("InventoryItem", "variant")
def _item_variant(item: InventoryItemRef, info: Info) -> Variant:
    return item.variant


@resolves("InventoryItem", "inventoryLevels")
def _item_levels(item: InventoryItemRef, info: Info, **args: Any) -> dict[str, Any]:
    levels = list(item.variant.inventory_levels.select_related("location", "variant").order_by("location__legacy_id"))
    return list_connection(levels, bulk=info.context.bulk, **args)


@resolves("InventoryItem", "inventoryLevel")
def _item_level(item: InventoryItemRef, info: Info, locationId: str) -> InventoryLevel | None:
    parsed = ids.parse_gid(locationId)
    if not parsed or parsed[0] != "Location":
        raise UserFacingError(f"Invalid global id '{locationId}'")
    return (
        item.variant.inventory_levels.select_related("location", "variant")
        .filter(location__legacy_id=parsed[1])
        .first()
    )


@resolves("InventoryLevel", "id")
def _level_id(level: InventoryLevel, info: Info) -> str:
    return inventory_level_gid(level)


def inventory_level_gid(level: InventoryLevel) -> str:
    return (
        f"gid://shopify/InventoryLevel/{level.location.legacy_id}"
        f"?inventory_item_id={level.variant.inventory_item_legacy_id}"
    )


@resolves("InventoryLevel", "item")
def _level_item(level: InventoryLevel, info: Info) -> InventoryItemRef:
    return InventoryItemRef(level.variant)


@resolves("InventoryLevel", "quantities")
def _level_quantities(level: InventoryLevel, info: Info, names: list[str]) -> list[dict[str, Any]]:
    known = {"available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control"}
    out = []
    for name in names:
        if name not in known:
            raise UserFacingError(f"The quantity name '{name}' is not valid.")
        quantity = level.available if name in ("available", "on_hand") else 0
        out.append(
            {
                "id": f"{inventory_level_gid(level)}&name={name}",
                "name": name,
                "quantity": quantity,
                "updatedAt": level.updated_at,
            }
        )
    return out


@resolves("Location", "isActive")
def _location_active(location: Location, info: Info) -> bool:
    return location.is_active


# ------------------------------------------------------------------------------ Collection


@resolves("Collection", "sortOrder")
def _sort_order(c: Collection, info: Info) -> str:
    return c.sort_order


@resolves("Collection", "ruleSet")
def _rule_set(c: Collection, info: Info) -> dict[str, Any] | None:
    if c.rules is None:
        return None
    return {"appliedDisjunctively": c.applied_disjunctively, "rules": c.rules}


@resolves("Collection", "templateSuffix", "image")
def _none(obj: Any, info: Info) -> None:
    return None


@resolves("Collection", "productsCount")
def _collection_count(c: Collection, info: Info) -> dict[str, Any]:
    return count_object(c.memberships.count())


@resolves("Collection", "hasProduct")
def _has_product(c: Collection, info: Info, id: str) -> bool:
    parsed = ids.parse_gid(id)
    if not parsed or parsed[0] != "Product":
        raise UserFacingError(f"Invalid global id '{id}'")
    return c.memberships.filter(product__legacy_id=parsed[1]).exists()


COLLECTION_PRODUCT_ORDER = {
    "COLLECTION_DEFAULT": ["legacy_id"],
    "MANUAL": ["legacy_id"],
    "ID": ["legacy_id"],
    "RELEVANCE": ["legacy_id"],
    "TITLE": ["title", "legacy_id"],
    "CREATED": ["created_at", "legacy_id"],
}


@resolves("Collection", "products")
def _collection_products(c: Collection, info: Info, sortKey: str = "COLLECTION_DEFAULT", **args: Any) -> dict:
    queryset = product_queryset(info, Product.objects.filter(shop_id=c.shop_id, memberships__collection=c))
    return queryset_connection(queryset, COLLECTION_PRODUCT_ORDER[sortKey], bulk=info.context.bulk, **args)


# --------------------------------------------------------------- BulkOperation / Webhooks


@resolves("BulkOperation", "status")
def _bulk_status(op: BulkOperation, info: Info) -> str:
    return op.status


@resolves("BulkOperation", "errorCode")
def _bulk_error(op: BulkOperation, info: Info) -> str | None:
    return op.error_code or None


@resolves("BulkOperation", "completedAt")
def _bulk_completed(op: BulkOperation, info: Info) -> Any:
    return op.completed_at


@resolves("BulkOperation", "objectCount")
def _bulk_objects(op: BulkOperation, info: Info) -> int:
    return op.object_count


@resolves("BulkOperation", "rootObjectCount")
def _bulk_roots(op: BulkOperation, info: Info) -> int:
    return op.root_object_count


@resolves("BulkOperation", "fileSize")
def _bulk_size(op: BulkOperation, info: Info) -> int | None:
    return op.file_size if op.status == BulkOperation.Status.COMPLETED and op.object_count else None


@resolves("BulkOperation", "url")
def _bulk_url(op: BulkOperation, info: Info) -> str | None:
    from ..bulk import result_url

    # Shopify leaves url null when nothing matched.
    if op.status != BulkOperation.Status.COMPLETED or not op.object_count:
        return None
    return result_url(op, info.context.base_url)


@resolves("BulkOperation", "partialDataUrl")
def _bulk_partial(op: BulkOperation, info: Info) -> str | None:
    from ..bulk import result_url

    if op.status in (BulkOperation.Status.FAILED, BulkOperation.Status.CANCELED) and op.object_count:
        return result_url(op, info.context.base_url)
    return None


@resolves("BulkOperation", "type")
def _bulk_type(op: BulkOperation, info: Info) -> str:
    return op.type


@resolves("WebhookSubscription", "callbackUrl", "uri")
def _sub_url(sub: WebhookSubscription, info: Info) -> str:
    return sub.callback_url


@resolves("WebhookSubscription", "endpoint")
def _sub_endpoint(sub: WebhookSubscription, info: Info) -> dict[str, Any]:
    return {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.callback_url}


@resolves("WebhookSubscription", "includeFields")
def _sub_fields(sub: WebhookSubscription, info: Info) -> list[str]:
    return sub.include_fields


@resolves("WebhookSubscription", "metafieldNamespaces")
def _sub_namespaces(sub: WebhookSubscription, info: Info) -> list[str]:
    return []


@resolves("WebhookSubscription", "filter")
def _sub_filter(sub: WebhookSubscription, info: Info) -> str:
    return ""


@resolves("WebhookSubscription", "apiVersion")
def _sub_version(sub: WebhookSubscription, info: Info) -> dict[str, Any]:
    return {"handle": sub.api_version, "displayName": sub.api_version, "supported": True}


# ----------------------------------------------------------------------------------- Order


@resolves("Order", "email")
def _order_email(order: Order, info: Info) -> str | None:
    return order.email or None


@resolves("Order", "processedAt")
def _order_processed(order: Order, info: Info) -> Any:
    return order.processed_at


@resolves("Order", "currencyCode")
def _order_currency(order: Order, info: Info) -> str:
    return order.currency


@resolves("Order", "displayFinancialStatus")
def _order_status(order: Order, info: Info) -> str:
    return order.financial_status.upper()


@resolves("Order", "totalPriceSet")
def _order_total(order: Order, info: Info) -> dict[str, Any]:
    money_v2 = {"amount": order.total_price, "currencyCode": order.currency}
    return {"shopMoney": money_v2, "presentmentMoney": money_v2}


@resolves("Order", "lineItems")
def _order_lines(order: Order, info: Info, **args: Any) -> dict[str, Any]:
    lines = []
    for line in order.line_items:
        money_v2 = {"amount": Decimal(line["price"]), "currencyCode": order.currency}
        lines.append(
            {
                "id": ids.gid("LineItem", line["id"]),
                "title": line["title"],
                "sku": line.get("sku"),
                "quantity": line["quantity"],
                "variant": Variant.objects.filter(shop_id=order.shop_id, legacy_id=line["variant_id"])
                .select_related("product")
                .first(),
                "originalUnitPriceSet": {"shopMoney": money_v2, "presentmentMoney": money_v2},
            }
        )
    return list_connection(lines, bulk=info.context.bulk, **args)


def resolve_node_type(obj: Any, info: Info, abstract_type: Any) -> str | None:
    """GraphQL type name of a model object returned through `Node` / `Media`."""
    mapping = {
        Product: "Product",
        Variant: "ProductVariant",
        InventoryItemRef: "InventoryItem",
        Collection: "Collection",
        Location: "Location",
        ProductImage: "MediaImage",
        ProductVideo: "Video",
        InventoryLevel: "InventoryLevel",
        BulkOperation: "BulkOperation",
        WebhookSubscription: "WebhookSubscription",
        Order: "Order",
        Shop: "Shop",
    }
    if isinstance(obj, dict):
        return obj.get("__typename")
    return mapping.get(type(obj))
