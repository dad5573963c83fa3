"""Mutation resolvers: thin callers of `changes`, `bulk` and the subscription store.

Business problems come back as `userErrors` (HTTP 200, data present), as Shopify does.
"""

from typing import Any

from django.db import IntegrityError, transaction
from graphql import GraphQLResolveInfo

from .. import bulk, changes, ids
from ..models import BulkOperation, Collection, Location, Order, Product, Variant, WebhookSubscription
from .registry import resolves

Info = GraphQLResolveInfo


def _shop(info: Info):
    return info.context.shop


def _error(message: str, field: list[str] | None = None, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _from_change(exc: changes.ChangeError, prefix: list[str] | None = None) -> dict[str, Any]:
    field = (prefix or []) + (exc.field or []) if (prefix or exc.field) else None
    return _error(str(exc), field, exc.code)


def _lookup(info: Info, model, value: str | None, type_name: str):
    parsed = ids.parse_gid(value or "")
    if parsed is None or parsed[0] != type_name:
        return None
    queryset = model.objects.filter(shop=_shop(info))
    if model is Variant:
        queryset = queryset.select_related("product", "image")
    return queryset.filter(legacy_id=parsed[1]).first()


PRODUCT_INPUT = {
    "title": "title",
    "handle": "handle",
    "descriptionHtml": "description_html",
    "vendor": "vendor",
    "productType": "product_type",
    "status": "status",
    "tags": "tags",
    "templateSuffix": "template_suffix",
}


def _product_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = {PRODUCT_INPUT[key]: value for key, value in data.items() if key in PRODUCT_INPUT}
    if isinstance(fields.get("tags"), str):
        fields["tags"] = [t.strip() for t in fields["tags"].split(",") if t.strip()]
    return fields


def _join_collections(info: Info, product: Product, join: list[str], leave: list[str]) -> list[dict]:
    errors = []
    for key, values in (("collectionsToJoin", join), ("collectionsToLeave", leave)):
        for value in values or []:
            collection = _lookup(info, Collection, value, "Collection")
            if collection is None:
                errors.append(_error("Collection does not exist", [key]))
                continue
            try:
                changes.change_collection_products(
                    collection,
                    add=[product] if key == "collectionsToJoin" else [],
                    remove=[product] if key == "collectionsToLeave" else [],
                )
            except changes.ChangeError as exc:
                errors.append(_from_change(exc, [key]))
    return errors


@resolves("Mutation", "productCreate")
def product_create(
    root: Any, info: Info, product: dict | None = None, input: dict | None = None, media: list | None = None
) -> dict:
    data = product or input or {}
    fields = _product_fields(data)
    options = [
        {"name": o.get("name") or f"Option{n}", "values": [v.get("name") for v in o.get("values") or []] or ["Default"]}
        for n, o in enumerate(data.get("productOptions") or [], start=1)
    ]
    try:
        created = changes.create_product(_shop(info), title=fields.pop("title", ""), options=options or None, **fields)
    except changes.ChangeError as exc:
        return {"product": None, "userErrors": [_from_change(exc)]}
    errors = _join_collections(info, created, data.get("collectionsToJoin") or [], [])
    return {"product": Product.objects.get(pk=created.pk), "userErrors": errors}


@resolves("Mutation", "productUpdate")
def product_update(
    root: Any, info: Info, product: dict | None = None, input: dict | None = None, media: list | None = None
) -> dict:
    data = product or input or {}
    target = _lookup(info, Product, data.get("id"), "Product")
    if target is None:
        return {"product": None, "userErrors": [_error("Product does not exist", ["id"])]}
    fields = _product_fields(data)
    try:
        if fields:
            changes.update_product(target, **fields)
    except changes.ChangeError as exc:
        return {"product": None, "userErrors": [_from_change(exc)]}
    errors = _join_collections(info, target, data.get("collectionsToJoin") or [], data.get("collectionsToLeave") or [])
    return {"product": Product.objects.get(pk=target.pk), "userErrors": errors}


@resolves("Mutation", "productDelete")
def product_delete(root: Any, info: Info, input: dict) -> dict:
    target = _lookup(info, Product, input.get("id"), "Product")
    if target is None:
        return {"deletedProductId": None, "userErrors": [_error("Product does not exist", ["id"])]}
    legacy_id = changes.delete_product(target)
    return {"deletedProductId": ids.gid("Product", legacy_id), "userErrors": []}


VARIANT_INPUT = {
    "price": "price",
    "compareAtPrice": "compare_at_price",
    "barcode": "barcode",
    "taxable": "taxable",
    "inventoryPolicy": "inventory_policy",
}


@resolves("Mutation", "productVariantsBulkUpdate")
def variants_bulk_update(
    root: Any, info: Info, productId: str, variants: list[dict], allowPartialUpdates: bool = False
) -> dict:
    product = _lookup(info, Product, productId, "Product")
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [_error("Product does not exist", ["productId"], "PRODUCT_DOES_NOT_EXIST")],
        }
    updates, errors = [], []
    for index, data in enumerate(variants):
        if not data.get("id"):
            errors.append(
                _error(
                    "Product variant is missing ID attribute", ["variants", str(index)], "PRODUCT_VARIANT_ID_MISSING"
                )
            )
            continue
        variant = _lookup(info, Variant, data["id"], "ProductVariant")
        if variant is None or variant.product_id != product.pk:
            errors.append(
                _error(
                    "Product variant does not exist", ["variants", str(index), "id"], "PRODUCT_VARIANT_DOES_NOT_EXIST"
                )
            )
            continue
        update: dict[str, Any] = {"variant": variant}
        update.update({VARIANT_INPUT[k]: v for k, v in data.items() if k in VARIANT_INPUT})
        item = data.get("inventoryItem") or {}
        for key, name in (("sku", "sku"), ("tracked", "tracked"), ("requiresShipping", "requires_shipping")):
            if key in item:
                update[name] = item[key]
        updates.append(update)
    if errors and not allowPartialUpdates:
        return {"product": None, "productVariants": None, "userErrors": errors}
    try:
        changed = changes.update_variants(product, updates) if updates else []
    except changes.ChangeError as exc:
        return {"product": None, "productVariants": None, "userErrors": errors + [_from_change(exc)]}
    return {
        "product": Product.objects.get(pk=product.pk),
        "productVariants": list(Variant.objects.filter(pk__in=[v.pk for v in changed]).select_related("product")),
        "userErrors": errors,
    }


@resolves("Mutation", "productVariantsBulkCreate")
def variants_bulk_create(root: Any, info: Info, productId: str, variants: list[dict]) -> dict:
    product = _lookup(info, Product, productId, "Product")
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [_error("Product does not exist", ["productId"], "PRODUCT_DOES_NOT_EXIST")],
        }
    created = []
    with transaction.atomic():
        for index, data in enumerate(variants):
            values = {o.get("optionName"): o.get("name") for o in data.get("optionValues") or []}
            try:
                variant = changes.add_variant(
                    product,
                    option_values=values,
                    price=data.get("price"),
                    compare_at_price=data.get("compareAtPrice"),
                    sku=(data.get("inventoryItem") or {}).get("sku"),
                    quantity=sum(q.get("availableQuantity", 0) for q in data.get("inventoryQuantities") or []),
                )
            except changes.ChangeError as exc:
                transaction.set_rollback(True)
                return {
                    "product": None,
                    "productVariants": None,
                    "userErrors": [_from_change(exc, ["variants", str(index)])],
                }
            created.append(variant)
    return {"product": Product.objects.get(pk=product.pk), "productVariants": created, "userErrors": []}


@resolves("Mutation", "productVariantsBulkDelete")
def variants_bulk_delete(root: Any, info: Info, productId: str, variantsIds: list[str]) -> dict:
    product = _lookup(info, Product, productId, "Product")
    if product is None:
        return {
            "product": None,
            "userErrors": [_error("Product does not exist", ["productId"], "PRODUCT_DOES_NOT_EXIST")],
        }
    targets = [_lookup(info, Variant, value, "ProductVariant") for value in variantsIds]
    if any(v is None or v.product_id != product.pk for v in targets):
        return {
            "product": None,
            "userErrors": [_error("Product variant does not exist", ["variantsIds"], "PRODUCT_VARIANT_DOES_NOT_EXIST")],
        }
    try:
        changes.delete_variants(product, targets)
    except changes.ChangeError as exc:
        return {"product": None, "userErrors": [_from_change(exc, ["variantsIds"])]}
    return {"product": Product.objects.get(pk=product.pk), "userErrors": []}


def _inventory_change(info: Info, item_id: str, location_id: str, index: int, key: str):
    item = ids.parse_gid(item_id)
    variant = (
        Variant.objects.filter(shop=_shop(info), inventory_item_legacy_id=item[1]).select_related("product").first()
        if item and item[0] == "InventoryItem"
        else None
    )
    location = _lookup(info, Location, location_id, "Location")
    if variant is None:
        return (
            None,
            None,
            {
                "code": "INVALID_INVENTORY_ITEM",
                "field": ["input", key, str(index), "inventoryItemId"],
                "message": "The specified inventory item could not be found.",
            },
        )
    if location is None:
        return (
            None,
            None,
            {
                "code": "INVALID_LOCATION",
                "field": ["input", key, str(index), "locationId"],
                "message": "The specified location could not be found.",
            },
        )
    return variant, location, None


def _adjustment_group(info: Info, reason: str, uri: str | None, rows: list) -> dict[str, Any]:
    from django.utils import timezone

    return {
        "id": ids.gid("InventoryAdjustmentGroup", _shop(info).new_legacy_id("InventoryAdjustmentGroup")),
        "createdAt": timezone.now(),
        "reason": reason,
        "referenceDocumentUri": uri,
        "changes": [
            {
                "name": "available",
                "delta": delta,
                "quantityAfterChange": after,
                "item": _item(variant),
                "location": location,
            }
            for variant, location, delta, after in rows
        ],
    }


def _item(variant: Variant):
    from .types import InventoryItemRef

    return InventoryItemRef(variant)


@resolves("Mutation", "inventorySetQuantities")
def inventory_set_quantities(root: Any, info: Info, input: dict) -> dict:
    if input.get("name") not in ("available", "on_hand"):
        return {
            "inventoryAdjustmentGroup": None,
            "userErrors": [
                {
                    "code": "INVALID_NAME",
                    "field": ["input", "name"],
                    "message": "The quantity name must be either 'available' or 'on_hand'.",
                }
            ],
        }
    rows, errors = [], []
    resolved = []
    for index, quantity in enumerate(input.get("quantities") or []):
        variant, location, error = _inventory_change(
            info, quantity["inventoryItemId"], quantity["locationId"], index, "quantities"
        )
        if error:
            errors.append(error)
            continue
        current = variant.inventory_levels.filter(location=location).values_list("available", flat=True).first() or 0
        if (
            not input.get("ignoreCompareQuantity")
            and quantity.get("compareQuantity") is not None
            and quantity["compareQuantity"] != current
        ):
            errors.append(
                {
                    "code": "COMPARE_QUANTITY_STALE",
                    "field": ["input", "quantities", str(index), "compareQuantity"],
                    "message": "The compareQuantity argument no longer matches the persisted quantity.",
                }
            )
            continue
        resolved.append((variant, location, quantity["quantity"], current))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    with transaction.atomic():
        for variant, location, value, current in resolved:
            changes.set_inventory(variant, value, location=location)
            rows.append((variant, location, value - current, value))
    return {
        "inventoryAdjustmentGroup": _adjustment_group(info, input["reason"], input.get("referenceDocumentUri"), rows),
        "userErrors": [],
    }


@resolves("Mutation", "inventoryAdjustQuantities")
def inventory_adjust_quantities(root: Any, info: Info, input: dict) -> dict:
    rows, resolved, errors = [], [], []
    for index, change in enumerate(input.get("changes") or []):
        variant, location, error = _inventory_change(
            info, change["inventoryItemId"], change["locationId"], index, "changes"
        )
        if error:
            errors.append(error)
        else:
            resolved.append((variant, location, change["delta"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    with transaction.atomic():
        for variant, location, delta in resolved:
            level = changes.set_inventory(variant, delta, location=location, delta=True)
            rows.append((variant, location, delta, level.available))
    return {
        "inventoryAdjustmentGroup": _adjustment_group(info, input["reason"], input.get("referenceDocumentUri"), rows),
        "userErrors": [],
    }


@resolves("Mutation", "inventoryItemUpdate")
def inventory_item_update(root: Any, info: Info, id: str, input: dict) -> dict:
    parsed = ids.parse_gid(id)
    variant = (
        Variant.objects.filter(shop=_shop(info), inventory_item_legacy_id=parsed[1]).select_related("product").first()
        if parsed and parsed[0] == "InventoryItem"
        else None
    )
    if variant is None:
        return {"inventoryItem": None, "userErrors": [_error("Inventory item does not exist", ["id"])]}
    update = {"variant": variant}
    for key, name in (("sku", "sku"), ("tracked", "tracked"), ("requiresShipping", "requires_shipping")):
        if key in input:
            update[name] = input[key]
    changes.update_variants(variant.product, [update])
    variant.refresh_from_db()
    return {"inventoryItem": _item(variant), "userErrors": []}


@resolves("Mutation", "publishablePublish", "publishableUnpublish")
def publishable(root: Any, info: Info, id: str, input: list[dict]) -> dict:
    product = _lookup(info, Product, id, "Product")
    if product is None:
        return {"userErrors": [_error("Resource does not exist", ["id"])]}
    changes.set_published(product, info.field_name == "publishablePublish")
    return {"userErrors": []}


RULE_KEYS = ("column", "relation", "condition")


@resolves("Mutation", "collectionCreate")
def collection_create(root: Any, info: Info, input: dict) -> dict:
    rule_set = input.get("ruleSet")
    products = [_lookup(info, Product, value, "Product") for value in input.get("products") or []]
    if any(p is None for p in products):
        return {"collection": None, "userErrors": [_error("Product does not exist", ["products"])]}
    try:
        collection = changes.create_collection(
            _shop(info),
            title=input.get("title") or "",
            handle=input.get("handle"),
            description_html=input.get("descriptionHtml") or "",
            rules=[{k: r[k] for k in RULE_KEYS} for r in rule_set.get("rules") or []] if rule_set else None,
            disjunctive=bool(rule_set and rule_set.get("appliedDisjunctively")),
            products=products,
        )
    except changes.ChangeError as exc:
        return {"collection": None, "userErrors": [_from_change(exc)]}
    return {"collection": collection, "userErrors": []}


@resolves("Mutation", "collectionUpdate")
def collection_update(root: Any, info: Info, input: dict) -> dict:
    collection = _lookup(info, Collection, input.get("id"), "Collection")
    if collection is None:
        return {"collection": None, "userErrors": [_error("Collection does not exist", ["id"])]}
    fields: dict[str, Any] = {}
    if "title" in input:
        fields["title"] = input["title"]
    if "descriptionHtml" in input:
        fields["description_html"] = input["descriptionHtml"]
    if input.get("ruleSet"):
        fields["rules"] = [{k: r[k] for k in RULE_KEYS} for r in input["ruleSet"].get("rules") or []]
        fields["applied_disjunctively"] = bool(input["ruleSet"].get("appliedDisjunctively"))
    try:
        changes.update_collection(collection, **fields)
    except changes.ChangeError as exc:
        return {"collection": None, "userErrors": [_from_change(exc)]}
    return {"collection": collection, "userErrors": []}


@resolves("Mutation", "collectionDelete")
def collection_delete(root: Any, info: Info, input: dict) -> dict:
    collection = _lookup(info, Collection, input.get("id"), "Collection")
    if collection is None:
        return {"deletedCollectionId": None, "userErrors": [_error("Collection does not exist", ["id"])]}
    return {"deletedCollectionId": ids.gid("Collection", changes.delete_collection(collection)), "userErrors": []}


@resolves("Mutation", "collectionAddProducts", "collectionRemoveProducts")
def collection_products(root: Any, info: Info, id: str, productIds: list[str]) -> dict:
    adding = info.field_name == "collectionAddProducts"
    empty = {"collection": None} if adding else {"job": None}
    collection = _lookup(info, Collection, id, "Collection")
    if collection is None:
        return {**empty, "userErrors": [_error("Collection does not exist", ["id"])]}
    products = [_lookup(info, Product, value, "Product") for value in productIds]
    if any(p is None for p in products):
        return {**empty, "userErrors": [_error("Product does not exist", ["productIds"])]}
    try:
        changes.change_collection_products(
            collection, add=products if adding else (), remove=() if adding else products
        )
    except changes.ChangeError as exc:
        return {**empty, "userErrors": [_from_change(exc)]}
    if adding:
        return {"collection": collection, "userErrors": []}
    return {"job": {"id": ids.gid("Job", collection.legacy_id), "done": True}, "userErrors": []}


def _callback(data: dict) -> str:
    return (data.get("callbackUrl") or data.get("uri") or "").strip()


@resolves("Mutation", "webhookSubscriptionCreate")
def webhook_create(root: Any, info: Info, topic: str, webhookSubscription: dict) -> dict:
    url = _callback(webhookSubscription)
    if not url.startswith(("https://", "http://")):
        return {
            "webhookSubscription": None,
            "userErrors": [_error("Address is invalid", ["webhookSubscription", "callbackUrl"])],
        }
    shop = _shop(info)
    try:
        with transaction.atomic():
            subscription = WebhookSubscription.objects.create(
                shop=shop,
                legacy_id=shop.new_legacy_id("WebhookSubscription"),
                topic=topic,
                callback_url=url,
                format=webhookSubscription.get("format") or "JSON",
                include_fields=webhookSubscription.get("includeFields") or [],
                api_version=info.context.api_version,
            )
    except IntegrityError:
        return {
            "webhookSubscription": None,
            "userErrors": [
                _error("Address for this topic has already been taken", ["webhookSubscription", "callbackUrl"])
            ],
        }
    return {"webhookSubscription": subscription, "userErrors": []}


@resolves("Mutation", "webhookSubscriptionUpdate")
def webhook_update(root: Any, info: Info, id: str, webhookSubscription: dict) -> dict:
    subscription = _lookup(info, WebhookSubscription, id, "WebhookSubscription")
    if subscription is None:
        return {"webhookSubscription": None, "userErrors": [_error("Webhook subscription does not exist", ["id"])]}
    url = _callback(webhookSubscription)
    if url:
        subscription.callback_url = url
    if "includeFields" in webhookSubscription:
        subscription.include_fields = webhookSubscription["includeFields"] or []
    subscription.save()
    return {"webhookSubscription": subscription, "userErrors": []}


@resolves("Mutation", "webhookSubscriptionDelete")
def webhook_delete(root: Any, info: Info, id: str) -> dict:
    subscription = _lookup(info, WebhookSubscription, id, "WebhookSubscription")
    if subscription is None:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [_error("Webhook subscription does not exist", ["id"])],
        }
    gid = subscription.gid
    subscription.delete()
    return {"deletedWebhookSubscriptionId": gid, "userErrors": []}


@resolves("Mutation", "bulkOperationRunQuery")
def bulk_run_query(root: Any, info: Info, query: str, groupObjects: bool = False) -> dict:
    try:
        op = bulk.start_query(_shop(info), query, info.context.api_version)
    except bulk.BulkQueryError as exc:
        return {"bulkOperation": None, "userErrors": [_error(str(exc), ["query"], exc.code)]}
    return {"bulkOperation": op, "userErrors": []}


@resolves("Mutation", "bulkOperationCancel")
def bulk_cancel(root: Any, info: Info, id: str) -> dict:
    op = _lookup(info, BulkOperation, id, "BulkOperation")
    if op is None:
        return {"bulkOperation": None, "userErrors": [_error("Bulk operation does not exist", ["id"])]}
    if op.status not in (BulkOperation.Status.CREATED, BulkOperation.Status.RUNNING):
        return {
            "bulkOperation": op,
            "userErrors": [_error(f"A bulk operation cannot be canceled when it is {op.status.lower()}", ["id"])],
        }
    return {"bulkOperation": bulk.cancel(op), "userErrors": []}


@resolves("Mutation", "orderCreate")
def order_create(root: Any, info: Info, order: dict) -> dict:
    lines = []
    for index, line in enumerate(order.get("lineItems") or []):
        variant = _lookup(info, Variant, line.get("variantId"), "ProductVariant")
        if variant is None:
            return {
                "order": None,
                "userErrors": [_error("Variant does not exist", ["order", "lineItems", str(index), "variantId"])],
            }
        lines.append((variant, line.get("quantity", 1)))
    try:
        created = changes.create_order(
            _shop(info),
            lines,
            email=order.get("email") or "",
            phone=order.get("phone") or "",
            paid=(order.get("financialStatus") or "PAID").upper() == "PAID",
        )
    except changes.ChangeError as exc:
        return {"order": None, "userErrors": [_from_change(exc, ["order"])]}
    return {"order": created, "userErrors": []}


@resolves("Mutation", "orderMarkAsPaid")
def order_mark_paid(root: Any, info: Info, input: dict) -> dict:
    order = _lookup(info, Order, input.get("id"), "Order")
    if order is None:
        return {"order": None, "userErrors": [_error("Order does not exist", ["id"])]}
    try:
        changes.mark_order_paid(order)
    except changes.ChangeError as exc:
        return {"order": None, "userErrors": [_from_change(exc)]}
    return {"order": order, "userErrors": []}
