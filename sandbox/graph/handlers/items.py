"""Items: items_batch, check_batch_request_status, the products edge and item nodes."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from ... import faults
from ...models import ProductGroup, ProductItem
from .. import batches, errors
from ..error_types import ERROR_TYPES
from ..filters import apply_filter
from ..ingest import apply_requests, delete_items
from ..paging import paginate, single_page
from ..params import Params
from ..router import Call, route
from ..serializers import group_node, item_node, item_selection, select_dict
from ..validation import ItemRequest, check_request

PRIORITIES = ("HIGH", "MEDIUM", "LOW")
# Graph (ProductItem) parameter names -> items_batch names, for POST /{catalog}/products and /{item}.
GRAPH_NAMES = {
    "retailer_id": "id",
    "name": "title",
    "url": "link",
    "image_url": "image_link",
    "additional_image_urls": "additional_image_link",
    "category": "google_product_category",
    "retailer_product_group_id": "item_group_id",
    "inventory": "quantity_to_sell_on_facebook",
    "manufacturer_part_number": "mpn",
    **{
        name: name
        for name in (
            "description",
            "rich_text_description",
            "short_description",
            "availability",
            "condition",
            "brand",
            "color",
            "size",
            "pattern",
            "material",
            "gender",
            "age_group",
            "product_type",
            "fb_product_category",
            "quantity_to_sell_on_facebook",
            "visibility",
            "gtin",
            "mobile_link",
            "origin_country",
            "checkout_url",
            "expiration_date",
            "importer_name",
            "manufacturer_info",
            "ordering_index",
            *(f"custom_label_{n}" for n in range(5)),
            *(f"custom_number_{n}" for n in range(5)),
        )
    },
}


@route("catalog", "items_batch", "POST")
def items_batch(call: Call) -> dict:
    return batches.submit(call.node, call.params, call.caller.token, call.now)


@route("catalog", "check_batch_request_status", "GET")
def check_batch_request_status(call: Call) -> dict:
    batch = batches.find(call.node, str(call.params.required("handle")))
    batches.count_poll(batch)
    payload = batches.status_payload(
        batch,
        call.now,
        error_priority=call.params.enum("error_priority", PRIORITIES),
        load_ids=call.params.bool("load_ids_of_invalid_requests", False),
    )
    return single_page([select_dict(payload, call.selection)])


def list_products(call: Call, items: QuerySet) -> dict:
    params: Params = call.params
    items = apply_filter(items, params.json("filter", lenient=True))
    priority = params.enum("error_priority", PRIORITIES)
    error_type = params.enum("error_type", ERROR_TYPES)
    if priority or error_type:
        items = items.with_error(priority, error_type)
    if params.bool("return_only_approved_products", False):
        items = items.filter(review_status=ProductItem.ReviewStatus.APPROVED)
    selection = item_selection(call.selection)
    items = items.select_related("group", "feed", "catalog__business")
    return paginate(
        call.request,
        params,
        items,
        lambda item: item_node(item, selection),
        summary=lambda: {"total_count": items.count()},
    )


@route("catalog", "products", "GET")
def catalog_products(call: Call) -> dict:
    return list_products(call, ProductItem.objects.filter(catalog=call.node))


@route("group", "products", "GET")
def group_products(call: Call) -> dict:
    return list_products(call, ProductItem.objects.filter(catalog=call.catalog, group=call.node))


@route("catalog", "product_groups", "GET")
def product_groups(call: Call) -> dict:
    groups = ProductGroup.objects.filter(catalog=call.node).select_related("catalog__business")
    return paginate(call.request, call.params, groups, lambda group: group_node(group, call.selection))


@route("group", "", "GET")
def product_group(call: Call) -> dict:
    return group_node(call.node, call.selection)


def _graph_item(params: Params) -> dict:
    """An item sent with Graph names (price in minor units + currency) in items_batch names."""
    data = {GRAPH_NAMES[name]: value for name, value in params.values.items() if name in GRAPH_NAMES}
    if isinstance(data.get("additional_image_link"), str) and data["additional_image_link"].startswith("["):
        data["additional_image_link"] = params.json("additional_image_urls")
    currency = params.str("currency").upper()
    for name in ("price", "sale_price"):
        if name in params:
            try:
                minor = int(params.str(name))
            except ValueError:
                raise errors.invalid_param(f"Param {name} must be an integer amount in cents") from None
            if not currency:
                raise errors.param_required("currency")
            data[name] = f"{Decimal(minor) / 100:.2f} {currency}"
    start, end = params.str("sale_price_start_date"), params.str("sale_price_end_date")
    if start and end:
        data["sale_price_effective_date"] = f"{start}/{end}"
    return data


def _write_one(call: Call, method: str, retailer_id: str, data: dict) -> None:
    request: ItemRequest = check_request(1, {"method": method, "data": {**data, "id": retailer_id}})
    outcome = apply_requests(
        call.catalog,
        [request],
        now=call.now,
        review_delay=faults.batch_delay_for(call.catalog, call.caller.token),
    )
    if outcome.errors:
        message = " ".join(error["message"] for error in outcome.errors)
        raise errors.invalid_param("Invalid product item", user_msg=message)


@route("catalog", "products", "POST")
def create_product(call: Call) -> dict:
    data = _graph_item(call.params)
    retailer_id = str(call.params.required("retailer_id"))
    exists = ProductItem.objects.filter(catalog=call.node, retailer_id=retailer_id).exists()
    if exists and not call.params.bool("allow_upsert", False):
        raise errors.invalid_param(f"A product with retailer_id {retailer_id} already exists in this catalog")
    _write_one(call, "UPDATE" if exists else "CREATE", retailer_id, data)
    item = ProductItem.objects.get(catalog=call.node, retailer_id=retailer_id)
    return {"id": item.fbid}


@route("item", "", "GET")
def item(call: Call) -> dict:
    return item_node(call.node, call.selection)


@route("item", "", "POST")
def update_item(call: Call) -> dict:
    data = _graph_item(call.params)
    data.pop("id", None)  # the retailer id of an item never changes
    if data:
        _write_one(call, "UPDATE", call.node.retailer_id, data)
    return {"success": True}


@route("item", "", "DELETE")
def delete_item(call: Call) -> dict:
    delete_items(call.catalog, [call.node.retailer_id])
    return {"success": True}
