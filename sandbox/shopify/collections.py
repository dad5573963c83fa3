"""Collections: custom membership is explicit, smart membership follows the collection's rules."""

from decimal import Decimal, InvalidOperation

from django.db import transaction

from .models import Collection, CollectionProduct, Product, Shop

# CollectionRuleColumn values the sandbox evaluates.
RULE_COLUMNS = ("TAG", "TITLE", "TYPE", "VENDOR", "VARIANT_PRICE", "VARIANT_COMPARE_AT_PRICE", "IS_PRICE_REDUCED")
RULE_RELATIONS = (
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "GREATER_THAN",
    "LESS_THAN",
    "IS_SET",
    "IS_NOT_SET",
)
MEMBERSHIP_SCAN_CHUNK = 2000


def _compare(relation: str, value: object, condition: str) -> bool:
    if relation in ("GREATER_THAN", "LESS_THAN"):
        try:
            number, limit = Decimal(str(value)), Decimal(condition)
        except (InvalidOperation, ValueError):
            return False
        return number > limit if relation == "GREATER_THAN" else number < limit
    text, cond = str(value or "").lower(), condition.lower()
    return {
        "EQUALS": text == cond,
        "NOT_EQUALS": text != cond,
        "CONTAINS": cond in text,
        "NOT_CONTAINS": cond not in text,
        "STARTS_WITH": text.startswith(cond),
        "ENDS_WITH": text.endswith(cond),
        "IS_SET": bool(text),
        "IS_NOT_SET": not text,
    }.get(relation, False)


def _rule_matches(rule: dict, product: Product, prices: list[tuple]) -> bool:
    column, relation, condition = rule.get("column"), rule.get("relation"), str(rule.get("condition", ""))
    if column == "TAG":
        hits = [_compare(relation, tag, condition) for tag in product.tags] or [_compare(relation, "", condition)]
        return all(hits) if relation.startswith("NOT_") else any(hits)
    if column == "TITLE":
        return _compare(relation, product.title, condition)
    if column == "TYPE":
        return _compare(relation, product.product_type, condition)
    if column == "VENDOR":
        return _compare(relation, product.vendor, condition)
    if column == "VARIANT_PRICE":
        return any(_compare(relation, price, condition) for price, _ in prices)
    if column == "VARIANT_COMPARE_AT_PRICE":
        return any(_compare(relation, compare, condition) for _, compare in prices if compare is not None)
    if column == "IS_PRICE_REDUCED":
        reduced = any(compare is not None and compare > price for price, compare in prices)
        return reduced == (condition.lower() == "true")
    return False


def product_matches(collection: Collection, product: Product) -> bool:
    """Whether a smart collection's rules select the product."""
    prices = [(v.price, v.compare_at_price) for v in product.variants.all()]
    results = [_rule_matches(rule, product, prices) for rule in collection.rules or []]
    if not results:
        return False
    return any(results) if collection.applied_disjunctively else all(results)


@transaction.atomic
def refresh_smart_memberships(shop: Shop, product_ids: list[int] | None = None) -> None:
    """Recompute smart-collection membership for the given products (all when None)."""
    smart = list(Collection.objects.for_shop(shop).filter(rules__isnull=False))
    if not smart:
        return
    products = Product.objects.for_shop(shop).prefetch_related("variants").order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    for collection in smart:
        # Only the memberships of the products looked at: a price change of one product must
        # not read a collection of a hundred thousand (the freshness bench at 1M spent its time here).
        memberships = collection.memberships.all()
        if product_ids is not None:
            memberships = memberships.filter(product_id__in=product_ids)
        existing = set(memberships.values_list("product_id", flat=True))
        wanted_add, wanted_remove = [], []
        for product in products.iterator(chunk_size=MEMBERSHIP_SCAN_CHUNK):
            matches = product_matches(collection, product)
            if matches and product.pk not in existing:
                wanted_add.append(CollectionProduct(collection=collection, product=product))
            elif not matches and product.pk in existing:
                wanted_remove.append(product.pk)
        CollectionProduct.objects.bulk_create(wanted_add, batch_size=500, ignore_conflicts=True)
        if wanted_remove:
            collection.memberships.filter(product_id__in=wanted_remove).delete()
