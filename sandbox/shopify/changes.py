"""Changes to a sandbox shop and the webhooks they fire (Python API for mutations, admin, command, tests).

Every function commits its change and queues the matching webhooks in the same transaction;
delivery happens after commit (see webhooks.emit), never inside it.
"""

import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.text import slugify

from . import generator, loading, payloads
from .collections import refresh_smart_memberships
from .models import (
    Collection,
    CollectionProduct,
    InventoryLevel,
    Location,
    Order,
    Product,
    Shop,
    Variant,
)
from .webhooks import emit

PRODUCT_FIELDS = {
    "title",
    "handle",
    "description_html",
    "vendor",
    "product_type",
    "status",
    "tags",
    "template_suffix",
    # Category (taxonomy id and full name), video media and metafields (sandbox shapes: see models).
    "category_id",
    "category_full_name",
    "videos",
    "metafields",
}
VARIANT_FIELDS = {
    "price",
    "compare_at_price",
    "sku",
    "barcode",
    "inventory_policy",
    "taxable",
    "tracked",
    "requires_shipping",
}


class ChangeError(ValueError):
    """A change Shopify would refuse (reported as userErrors by mutations)."""

    def __init__(self, message: str, field: Sequence[str] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = list(field) if field else None
        self.code = code


def _emit_product(product: Product, topic: str = "products/update") -> None:
    product.refresh_from_db()
    emit(product.shop, topic, payloads.product(product))


def _unique_handle(shop: Shop, wanted: str, exclude_pk: int | None = None) -> str:
    base = slugify(wanted)[:240] or "product"
    handle, n = base, 1
    taken = Product.objects.for_shop(shop)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    while taken.filter(handle=handle).exists():
        n += 1
        handle = f"{base}-{n}"
    return handle


@transaction.atomic
def update_product(product: Product, **fields: Any) -> Product:
    """Change product fields (title, status, tags, ...); fires ``products/update``."""
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise ChangeError(f"Unknown product field(s): {', '.join(sorted(unknown))}")
    if "title" in fields and not str(fields["title"]).strip():
        raise ChangeError("Title can't be blank", field=["title"], code="BLANK")
    if "status" in fields and fields["status"] not in Product.Status.values:
        raise ChangeError(f"Status is not valid: {fields['status']}", field=["status"], code="INVALID")
    if "handle" in fields:
        fields["handle"] = _unique_handle(product.shop, fields["handle"], exclude_pk=product.pk)
    for name, value in fields.items():
        setattr(product, name, value)
    product.updated_at = timezone.now()
    product.save()
    refresh_smart_memberships(product.shop, [product.pk])
    _emit_product(product)
    return product


@transaction.atomic
def set_published(product: Product, published: bool) -> Product:
    """Publish to / hide from the Online Store; fires ``products/update``."""
    now = timezone.now()
    product.published_at = (product.published_at or now) if published else None
    product.updated_at = now
    product.save(update_fields=["published_at", "updated_at"])
    _emit_product(product)
    return product


@transaction.atomic
def create_products(shop: Shop, count: int = 1, *, seed: int | None = None) -> list[Product]:
    """Add generated products; fires ``products/create`` for each."""
    start = shop.allocate_serials(count * 200)  # generous block; each product uses a few serials
    generated = list(
        generator.generate_products(
            count, seed=seed if seed is not None else start, id_base=shop.id_base, start_serial=start
        )
    )
    now = timezone.now()
    for product in generated:
        product["handle"] = _unique_handle(shop, product["handle"])
        product["created_at"] = product["updated_at"] = now
        if product["published_at"] is not None:
            product["published_at"] = now
        for variant in product["variants"]:
            variant["created_at"] = variant["updated_at"] = now
    loading.load_products(shop, generated)
    products = list(Product.objects.for_shop(shop).filter(legacy_id__in=[p["legacy_id"] for p in generated]))
    for product in products:
        _emit_product(product, "products/create")
    return products


@transaction.atomic
def create_product(
    shop: Shop,
    *,
    title: str,
    options: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Product:
    """Create one product with a default variant (GraphQL ``productCreate``); fires ``products/create``."""
    if not title or not title.strip():
        raise ChangeError("Title can't be blank", field=["title"], code="BLANK")
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise ChangeError(f"Unknown product field(s): {', '.join(sorted(unknown))}")
    now = timezone.now()
    options = options or [{"name": "Title", "values": ["Default Title"]}]
    product = Product.objects.create(
        shop=shop,
        legacy_id=shop.new_legacy_id("Product"),
        title=title,
        handle=_unique_handle(shop, fields.pop("handle", None) or title),
        status=fields.pop("status", Product.Status.ACTIVE),
        options=[
            {"id": shop.new_legacy_id("ProductOption"), "name": o["name"], "position": n, "values": o["values"][:1]}
            for n, o in enumerate(options[:3], start=1)
        ],
        published_at=None,
        created_at=now,
        updated_at=now,
        **fields,
    )
    serial = shop.allocate_serials(1)
    first_values = [o["values"][0] for o in options[:3]] + [None, None, None]
    variant = Variant.objects.create(
        shop=shop,
        product=product,
        legacy_id=shop.legacy_id("ProductVariant", serial),
        inventory_item_legacy_id=shop.legacy_id("InventoryItem", serial),
        title=" / ".join(v for v in first_values if v),
        option1=first_values[0],
        option2=first_values[1],
        option3=first_values[2],
        created_at=now,
        updated_at=now,
    )
    InventoryLevel.objects.create(
        shop=shop, variant=variant, location=loading.default_location(shop), available=0, updated_at=now
    )
    refresh_smart_memberships(shop, [product.pk])
    _emit_product(product, "products/create")
    return product


@transaction.atomic
def delete_product(product: Product) -> int:
    """Delete a product; fires ``products/delete`` with its id only. Returns the deleted legacy id."""
    shop, legacy_id = product.shop, product.legacy_id
    product.delete()
    emit(shop, "products/delete", payloads.product_deleted(legacy_id))
    return legacy_id


def _money(value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError as exc:
        raise ChangeError(f"{field} is invalid", field=[field], code="INVALID_INPUT") from exc
    if amount < 0:
        raise ChangeError(f"{field} must be greater than or equal to 0", field=[field], code="GREATER_THAN_OR_EQUAL_TO")
    return amount


@transaction.atomic
def update_variants(product: Product, updates: Iterable[dict[str, Any]]) -> list[Variant]:
    """Change variants of one product (price, compare-at, SKU, policy, tracked, ...).

    `updates` items carry `variant` (a Variant of this product) plus fields. Fires one
    ``products/update`` (and ``inventory_items/update`` when `tracked` or `sku` changed).
    """
    now = timezone.now()
    changed: list[Variant] = []
    items_changed: list[Variant] = []
    for index, update in enumerate(updates):
        update = dict(update)
        variant: Variant = update.pop("variant")
        if variant.product_id != product.pk:
            raise ChangeError(
                "Product variant does not exist",
                field=["variants", str(index), "id"],
                code="PRODUCT_VARIANT_DOES_NOT_EXIST",
            )
        unknown = set(update) - VARIANT_FIELDS
        if unknown:
            raise ChangeError(f"Unknown variant field(s): {', '.join(sorted(unknown))}")
        for name in ("price", "compare_at_price"):
            if name in update:
                update[name] = _money(update[name], name)
        if "price" in update and update["price"] is None:
            raise ChangeError("price can't be blank", field=["variants", str(index), "price"], code="INVALID_INPUT")
        if "inventory_policy" in update and update["inventory_policy"] not in Variant.InventoryPolicy.values:
            raise ChangeError(
                "inventoryPolicy is invalid", field=["variants", str(index), "inventoryPolicy"], code="INVALID_INPUT"
            )
        if {"tracked", "sku"} & set(update):
            items_changed.append(variant)
        for name, value in update.items():
            setattr(variant, name, value)
        variant.updated_at = now
        changed.append(variant)
    Variant.objects.bulk_update(changed, sorted(VARIANT_FIELDS | {"updated_at"}), batch_size=500)
    Product.objects.filter(pk=product.pk).update(updated_at=now)
    refresh_smart_memberships(product.shop, [product.pk])
    _emit_product(product)
    for variant in items_changed:
        emit(product.shop, "inventory_items/update", payloads.inventory_item(variant))
    return changed


@transaction.atomic
def add_variant(
    product: Product,
    *,
    option_values: dict[str, str],
    price: Any = None,
    compare_at_price: Any = None,
    sku: str | None = None,
    quantity: int = 0,
) -> Variant:
    """A new variant (GraphQL ``productVariantsBulkCreate``); fires ``products/update``."""
    names = [option["name"] for option in product.options]
    values = [option_values.get(name) for name in names]
    if any(value is None for value in values) or set(option_values) - set(names):
        raise ChangeError(
            "You need to add option values for " + ", ".join(names),
            field=["optionValues"],
            code="NEED_TO_ADD_OPTION_VALUES",
        )
    padded = values + [None, None, None]
    if product.variants.filter(option1=padded[0], option2=padded[1], option3=padded[2]).exists():
        raise ChangeError(
            f"The variant '{' / '.join(values)}' already exists.", field=["optionValues"], code="INVALID_INPUT"
        )
    shop, now = product.shop, timezone.now()
    serial = shop.allocate_serials(1)
    position = (product.variants.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    variant = Variant.objects.create(
        shop=shop,
        product=product,
        legacy_id=shop.legacy_id("ProductVariant", serial),
        inventory_item_legacy_id=shop.legacy_id("InventoryItem", serial),
        title=" / ".join(values),
        sku=sku,
        price=_money(price, "price") or Decimal("0.00"),
        compare_at_price=_money(compare_at_price, "compareAtPrice"),
        position=position,
        option1=padded[0],
        option2=padded[1],
        option3=padded[2],
        inventory_quantity=quantity,
        created_at=now,
        updated_at=now,
    )
    InventoryLevel.objects.create(
        shop=shop, variant=variant, location=loading.default_location(shop), available=quantity, updated_at=now
    )
    options = []
    for option, value in zip(product.options, values, strict=True):
        if value not in option["values"]:
            option = {**option, "values": option["values"] + [value]}
        options.append(option)
    Product.objects.filter(pk=product.pk).update(options=options, updated_at=now)
    _emit_product(product)
    return variant


@transaction.atomic
def delete_variants(product: Product, variants: Sequence[Variant]) -> None:
    """Remove variants (never the last one); fires ``products/update``."""
    pks = {variant.pk for variant in variants}
    if not product.variants.exclude(pk__in=pks).exists():
        raise ChangeError(
            "Cannot delete the last variant of a product; delete the product instead", code="INVALID_INPUT"
        )
    product.variants.filter(pk__in=pks).delete()
    Product.objects.filter(pk=product.pk).update(updated_at=timezone.now())
    _emit_product(product)


def _recount(variant: Variant) -> None:
    total = variant.inventory_levels.aggregate(total=Sum("available"))["total"] or 0
    Variant.objects.filter(pk=variant.pk).update(inventory_quantity=total, updated_at=timezone.now())
    variant.refresh_from_db(fields=["inventory_quantity", "updated_at"])


@transaction.atomic
def set_inventory(
    variant: Variant, quantity: int, *, location: Location | None = None, delta: bool = False
) -> InventoryLevel:
    """Set (or adjust by `delta`) available stock at a location; fires ``inventory_levels/update``.

    Shopify also fires ``products/update`` on inventory changes, so the sandbox does too.
    """
    location = location or loading.default_location(variant.shop)
    now = timezone.now()
    level, _created = InventoryLevel.objects.get_or_create(
        variant=variant, location=location, defaults={"shop": variant.shop, "available": 0, "updated_at": now}
    )
    level.available = level.available + quantity if delta else quantity
    level.updated_at = now
    level.save(update_fields=["available", "updated_at"])
    _recount(variant)
    Product.objects.filter(pk=variant.product_id).update(updated_at=now)
    level.variant = variant
    emit(variant.shop, "inventory_levels/update", payloads.inventory_level(level))
    _emit_product(variant.product)
    return level


@transaction.atomic
def create_collection(
    shop: Shop,
    *,
    title: str,
    rules: list[dict] | None = None,
    disjunctive: bool = False,
    products: Sequence[Product] = (),
    handle: str | None = None,
    description_html: str = "",
) -> Collection:
    """A custom (rules None) or smart collection; fires ``collections/create``."""
    if not title.strip():
        raise ChangeError("Title can't be blank", field=["title"])
    now = timezone.now()
    base = slugify(handle or title) or "collection"
    candidate, n = base, 1
    while Collection.objects.for_shop(shop).filter(handle=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    collection = Collection.objects.create(
        shop=shop,
        legacy_id=shop.new_legacy_id("Collection"),
        handle=candidate,
        title=title,
        description_html=description_html,
        rules=rules,
        applied_disjunctively=disjunctive,
        published_at=now,
        created_at=now,
        updated_at=now,
        sort_order="MANUAL" if rules is None else "BEST_SELLING",
    )
    if rules is None:
        CollectionProduct.objects.bulk_create(
            [CollectionProduct(collection=collection, product=p, position=i) for i, p in enumerate(products, 1)]
        )
    else:
        refresh_smart_memberships(shop)
    emit(shop, "collections/create", payloads.collection(collection))
    return collection


@transaction.atomic
def update_collection(collection: Collection, **fields: Any) -> Collection:
    """Change title/description/rules; fires ``collections/update``."""
    for name, value in fields.items():
        if name not in {"title", "description_html", "rules", "applied_disjunctively", "sort_order"}:
            raise ChangeError(f"Unknown collection field: {name}")
        setattr(collection, name, value)
    collection.updated_at = timezone.now()
    collection.save()
    if collection.rules is not None:
        refresh_smart_memberships(collection.shop)
    emit(collection.shop, "collections/update", payloads.collection(collection))
    return collection


@transaction.atomic
def change_collection_products(
    collection: Collection, add: Sequence[Product] = (), remove: Sequence[Product] = ()
) -> Collection:
    """Add/remove products of a custom collection; fires ``collections/update``."""
    if collection.is_smart:
        raise ChangeError("Can't manually add or remove products of a smart collection", field=["id"])
    start = (collection.memberships.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    CollectionProduct.objects.bulk_create(
        [CollectionProduct(collection=collection, product=p, position=start + i) for i, p in enumerate(add)],
        ignore_conflicts=True,
    )
    if remove:
        collection.memberships.filter(product__in=list(remove)).delete()
    collection.updated_at = timezone.now()
    collection.save(update_fields=["updated_at"])
    emit(collection.shop, "collections/update", payloads.collection(collection))
    return collection


@transaction.atomic
def delete_collection(collection: Collection) -> int:
    shop, legacy_id = collection.shop, collection.legacy_id
    collection.delete()
    emit(shop, "collections/delete", payloads.collection_deleted(legacy_id))
    return legacy_id


@transaction.atomic
def create_order(
    shop: Shop,
    lines: Sequence[tuple[Variant, int]],
    *,
    email: str = "buyer@example.com",
    paid: bool = True,
    phone: str = "",
) -> Order:
    """An order for the given variants; fires ``orders/create`` and, when paid, ``orders/paid``."""
    if not lines:
        raise ChangeError("An order needs at least one line item", field=["lineItems"])
    now = timezone.now()
    number = (Order.objects.filter(shop=shop).order_by("-number").values_list("number", flat=True).first() or 1000) + 1
    line_items, total = [], Decimal("0.00")
    for variant, quantity in lines:
        if quantity < 1:
            raise ChangeError("Quantity must be at least 1", field=["lineItems", "quantity"])
        total += variant.price * quantity
        line_items.append(
            {
                "id": shop.new_legacy_id("LineItem"),
                "product_id": variant.product.legacy_id,
                "variant_id": variant.legacy_id,
                "sku": variant.sku,
                "title": variant.product.title,
                "variant_title": variant.title,
                "quantity": quantity,
                "price": f"{variant.price:.2f}",
            }
        )
    order = Order.objects.create(
        shop=shop,
        legacy_id=shop.new_legacy_id("Order"),
        number=number,
        email=email,
        phone=phone,
        currency=shop.currency_code,
        total_price=total,
        financial_status=Order.FinancialStatus.PAID if paid else Order.FinancialStatus.PENDING,
        line_items=line_items,
        customer={"id": shop.new_legacy_id("Order") + 1, "first_name": "Sam", "last_name": "Buyer", "email": email},
        billing_address={"city": "Lisbon", "zip": "1100-148", "country_code": "PT"},
        browser_ip="203.0.113.7",
        user_agent="Mozilla/5.0 (sandbox)",
        landing_site=f"/products/{lines[0][0].product.handle}",
        processed_at=now,
        created_at=now,
        updated_at=now,
    )
    body = payloads.order(order)
    emit(shop, "orders/create", body)
    if paid:
        emit(shop, "orders/paid", body)
    return order


@transaction.atomic
def mark_order_paid(order: Order) -> Order:
    if order.financial_status == Order.FinancialStatus.PAID:
        raise ChangeError("Order is already paid", field=["id"])
    order.financial_status = Order.FinancialStatus.PAID
    order.updated_at = timezone.now()
    order.save(update_fields=["financial_status", "updated_at"])
    emit(order.shop, "orders/paid", payloads.order(order))
    return order


@transaction.atomic
def uninstall_app(shop: Shop) -> Shop:
    """The merchant removes the app: ``app/uninstalled`` fires and the token stops working."""
    emit(shop, "app/uninstalled", payloads.shop(shop))
    shop.uninstalled_at = timezone.now()
    shop.save(update_fields=["uninstalled_at"])
    return shop


def random_changes(shop: Shop, count: int, *, seed: int = 0) -> list[str]:
    """Apply `count` varied changes (price, stock, title, publish, create, delete); describe each."""
    rng = random.Random(seed)
    done: list[str] = []
    for _ in range(count):
        pks = list(Product.objects.for_shop(shop).order_by("pk").values_list("pk", flat=True))
        product = Product.objects.get(pk=rng.choice(pks)) if pks else None
        kind = rng.choice(["price", "stock", "title", "publish", "create", "delete"])
        if product is None or kind == "create":
            created = create_products(shop, 1, seed=rng.randint(0, 10**6))[0]
            done.append(f"created product {created.legacy_id}")
            continue
        variant = product.variants.order_by("position").first()
        if kind == "price" and variant:
            price = (variant.price + Decimal(rng.choice(["1.00", "-1.00", "5.00"]))).max(Decimal("0.00"))
            update_variants(product, [{"variant": variant, "price": price}])
            done.append(f"variant {variant.legacy_id} price -> {price}")
        elif kind == "stock" and variant:
            quantity = rng.randint(0, 40)
            set_inventory(variant, quantity)
            done.append(f"variant {variant.legacy_id} stock -> {quantity}")
        elif kind == "title":
            update_product(product, title=f"{product.title.split(' (')[0]} ({rng.randint(1, 999)})")
            done.append(f"product {product.legacy_id} retitled")
        elif kind == "publish":
            set_published(product, product.published_at is None)
            done.append(f"product {product.legacy_id} {'published' if product.published_at else 'unpublished'}")
        else:
            done.append(f"deleted product {delete_product(product)}")
    return done
