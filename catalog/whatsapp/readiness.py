"""Can a WhatsApp product message show this item, and if not, why (in the merchant's words).

One set of rules for single-product, multi-product and catalog messages (WhatsApp shows a
catalog item in any of them only when Meta would): the item is

* in a catalog Meta has, and **accepted by Meta as it is now** (push status SYNCED, not
  excluded: a PENDING change would show the older version Meta holds);
* **live in Meta's verdict**: approved in review, visible (not ``staging``), its image
  fetched, and WhatsApp's own review (``capability_to_review_status``) not rejected;
* **sellable**: in stock, or selling on at zero (Shopify's "continue selling");
* **priced** above zero and **with an image**.

:func:`ready_condition` is the same rules as one query condition (counts, the first items
of a set); :func:`reasons_not_ready` gives each refusal's reason; a test holds them equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from catalog import item_state, items
from catalog.models import Catalog, Product, ProductSet, ProductSetMembership, Variant

Status = Variant.SyncStatus

# Not-ready variants of a set listed with their reasons (the rest are counted).
NOT_READY_SHOWN = 100

NO_CATALOG = "Its store has no Meta catalog, so it is not in Meta."
CATALOG_NOT_IN_META = "Its catalog is not created in Meta yet."
EXCLUDED = "It is not sent to Meta: the product is a draft, archived, unpublished, deleted or excluded from Meta."
PENDING = "Its latest change has not reached Meta yet (waiting to be sent)."
FAILED = "Meta does not have it as it is now: {error}"
REVIEW_REJECTED = "Meta's review rejected it ({why})."
IN_REVIEW = "Meta has not approved it yet (in review)."
HIDDEN = "It is hidden in Meta (visibility staging)."
IMAGE_NOT_FETCHED = "Meta cannot fetch its image."
WHATSAPP_REJECTED = "WhatsApp's review rejected it."
OUT_OF_STOCK = "It is out of stock in Shopify (none left, and selling stops at zero)."
NO_PRICE = "Its price is {price}; only items priced above zero can be shown."
NO_IMAGE = "It has no image; add one to the product in Shopify."


def ready_condition() -> Q:
    """The readiness rules as one condition on ``Variant`` (the product and catalog are joined)."""
    return (
        Q(meta_status=Status.SYNCED, excluded=False, verdict=Variant.Verdict.LIVE, price__gt=0)
        & Q(catalog__isnull=False)
        & ~Q(catalog__meta_catalog_id="")
        & (
            Q(inventory_tracked=False)
            | Q(inventory_quantity__gt=0)
            | Q(inventory_policy=Variant.InventoryPolicy.CONTINUE)
        )
        & (~Q(image_url="") | ~Q(product__images=[]))
    )


def ready_variants(variants: QuerySet[Variant] | None = None) -> QuerySet[Variant]:
    """The variants of ``variants`` (default: all) that a product message may show."""
    return (variants if variants is not None else Variant.objects.all()).filter(ready_condition())


def _meta_reasons(variant: Variant) -> list[str]:
    """Why Meta's verdict keeps a SYNCED item out of WhatsApp (empty when it is live)."""
    reasons = []
    review = (variant.review_status or "").lower()
    if review == item_state.REVIEW_REJECTED:
        why = ", ".join(str(r) for r in variant.review_rejection_reasons or []) or "no reason given"
        reasons.append(REVIEW_REJECTED.format(why=why))
    if (variant.visibility or "").lower() in ("staging", "hidden"):
        reasons.append(HIDDEN)
    if (variant.image_fetch_status or "").upper() in item_state.IMAGE_FAILED:
        reasons.append(IMAGE_NOT_FETCHED)
    if str((variant.channel_review or {}).get(item_state.WHATSAPP, "")).upper() in item_state.CHANNEL_REJECTED:
        reasons.append(WHATSAPP_REJECTED)
    if variant.verdict != Variant.Verdict.LIVE and not reasons:
        reasons.append(IN_REVIEW)
    return reasons


def reasons_not_ready(variant: Variant) -> list[str]:
    """Every reason WhatsApp cannot show ``variant`` now; empty when it can.

    Reads ``variant.product`` and ``variant.catalog``: select them with the variant.
    """
    reasons = []
    if variant.catalog_id is None:
        reasons.append(NO_CATALOG)
    elif not variant.catalog.meta_catalog_id:
        reasons.append(CATALOG_NOT_IN_META)
    if variant.excluded:
        reasons.append(EXCLUDED)
    elif variant.meta_status == Status.PENDING:
        reasons.append(PENDING)
    elif variant.meta_status == Status.FAILED:
        reasons.append(FAILED.format(error=variant.last_error or "no reason recorded"))
    else:
        reasons += _meta_reasons(variant)
    if items.availability(variant) == "out of stock":
        reasons.append(OUT_OF_STOCK)
    if variant.price is None or variant.price <= 0:
        reasons.append(NO_PRICE.format(price=variant.price))
    if not (variant.image_url or variant.product.images):
        reasons.append(NO_IMAGE)
    return reasons


@dataclass(frozen=True)
class Readiness:
    """One variant's readiness for WhatsApp product messages."""

    variant: Variant
    reasons: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.reasons

    @property
    def retailer_id(self) -> str:
        return self.variant.message_retailer_id

    @property
    def label(self) -> str:
        product = self.variant.product.title
        title = self.variant.title
        return f"{product} — {title}" if title and title != "Default Title" else product


def readiness(variant: Variant) -> Readiness:
    return Readiness(variant, tuple(reasons_not_ready(variant)))


def readiness_of(variants: Iterable[Variant]) -> list[Readiness]:
    return [readiness(v) for v in variants]


def with_relations(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """What :func:`reasons_not_ready` reads, fetched with the variants (the store's secrets left out)."""
    return variants.select_related("product", "catalog").defer("product__description_html", "catalog__event_sources")


# --- Product sets ---------------------------------------------------------------------------------

# Meta filter keys Galantis can evaluate on its own rows, and the operators it understands.
_FILTER_FIELDS = {"retailer_id": "retailer_id", "retailer_product_group_id": "product__shopify_product_id"}
_FILTER_OPERATORS = ("eq", "is_any")


def _filter_condition(meta_filter: dict) -> Q | None:
    """A staff-defined set's Meta filter as a condition; None when it uses more than we can read."""
    if not isinstance(meta_filter, dict) or len(meta_filter) != 1:
        return None
    ((key, test),) = meta_filter.items()
    if key not in _FILTER_FIELDS or not isinstance(test, dict) or len(test) != 1:
        return None
    ((operator, value),) = test.items()
    if operator not in _FILTER_OPERATORS:
        return None
    values = value if isinstance(value, list) else [value]
    if key == "retailer_product_group_id":
        values = [int(v) for v in values if str(v).isdigit()]
        return Q(product__shopify_product_id__in=values)
    values = [str(v) for v in values]
    return Q(retailer_id__in=values) | Q(meta_retailer_id__in=values)


def variants_of_set(product_set: ProductSet) -> tuple[QuerySet[Variant], str]:
    """The set's variants in its catalog, and ("" or) why Galantis cannot list them itself.

    A collection's set is its member products' variants; a staff-defined set is read from
    its Meta filter when that names retailer ids or product groups (other filters, e.g. on
    brand or price, are Meta's to evaluate).
    """
    in_catalog = Variant.objects.filter(catalog_id=product_set.catalog_id, tenant_id=product_set.tenant_id)
    members = ProductSetMembership.objects.filter(product_set=product_set)
    if product_set.shopify_collection_id is not None or members.exists():
        return in_catalog.filter(product_id__in=members.values("product_id")), ""
    if not product_set.filter:
        return in_catalog.none(), "The set has no products and no filter."
    condition = _filter_condition(product_set.filter)
    if condition is None:
        return in_catalog.none(), (
            "Galantis cannot evaluate this set's filter itself (only retailer ids and product groups); "
            "choose the products instead."
        )
    return in_catalog.filter(condition), ""


@dataclass
class SetReadiness:
    """How much of a product set a WhatsApp message can show, and why the rest cannot."""

    product_set: ProductSet
    total: int
    ready: int
    not_ready: list[Readiness] = field(default_factory=list)  # the first NOT_READY_SHOWN
    unreadable: str = ""  # why the set's items cannot be listed here

    @property
    def not_ready_count(self) -> int:
        return self.total - self.ready

    @property
    def messages(self) -> dict[str, str]:
        """Per message kind (``product``, ``product_list``, ``catalog_message``): "" when possible, else why not."""
        if self.unreadable:
            why = self.unreadable
        elif not self.total:
            why = "The set has no items in its catalog."
        elif not self.ready:
            why = "None of the set's items is ready (see the reasons below)."
        else:
            why = ""
        return {"product": why, "product_list": why, "catalog_message": why}


def set_readiness(product_set: ProductSet, *, shown: int = NOT_READY_SHOWN) -> SetReadiness:
    """Count the set's ready items in one query and give the reasons of the first ``shown`` others."""
    variants, unreadable = variants_of_set(product_set)
    if unreadable:
        return SetReadiness(product_set, 0, 0, unreadable=unreadable)
    counts = variants.order_by().aggregate(total=Count("*"), ready=Count("pk", filter=ready_condition()))
    not_ready = with_relations(variants.exclude(ready_condition()).order_by("product_id", "position", "pk"))[:shown]
    return SetReadiness(product_set, counts["total"], counts["ready"], readiness_of(not_ready))


def catalog_thumbnail(catalog: Catalog) -> Variant | None:
    """A ready item of the catalog for a catalog message's thumbnail (the first product's first variant)."""
    return (
        with_relations(ready_variants(Variant.objects.filter(catalog=catalog)))
        .order_by("product_id", "position", "pk")
        .first()
    )


def product_variants(products: Iterable[Product]) -> QuerySet[Variant]:
    """The variants of the chosen products, in product order, ready to be judged."""
    ids = [p.pk for p in products]
    return with_relations(Variant.objects.filter(product_id__in=ids)).order_by("product_id", "position", "pk")
