"""Product sets: create, update (``publish_to_shops``), delete, list, and their items."""

from __future__ import annotations

from typing import Any

from ...models import ProductItem, ProductSet
from .. import errors
from ..filters import apply_filter, validate_filter
from ..paging import paginate
from ..router import Call, route
from ..serializers import product_set_node
from .items import list_products

METADATA_KEYS = ("cover_image_url", "description", "external_url")


def _count(product_set: ProductSet) -> int:
    return apply_filter(ProductItem.objects.filter(catalog_id=product_set.catalog_id), product_set.filter).count()


def _node(call: Call, product_set: ProductSet) -> dict:
    return product_set_node(product_set, call.selection, lambda: _count(product_set))


def _apply_params(call: Call, product_set: ProductSet) -> None:
    params = call.params
    if "name" in params:
        name = params.str("name").strip()
        if not name or len(name) > 255:
            raise errors.invalid_param("Param name must be between 1 and 255 characters")
        product_set.name = name
    if "filter" in params:
        product_filter = params.json("filter", lenient=True)
        validate_filter(product_filter)
        product_set.filter = product_filter or None
    if "retailer_id" in params:
        product_set.retailer_id = params.str("retailer_id")
    if "metadata" in params:
        metadata = params.json("metadata", {}, lenient=True)
        if not isinstance(metadata, dict) or set(metadata) - set(METADATA_KEYS):
            raise errors.invalid_param(f"Param metadata must be an object with keys among {', '.join(METADATA_KEYS)}")
        product_set.metadata = metadata
    if "ordering_info" in params:
        ordering = params.json("ordering_info", [])
        if not isinstance(ordering, list) or not all(isinstance(n, int) and n >= 0 for n in ordering):
            raise errors.invalid_param("Param ordering_info must be a list of unsigned integers")
        product_set.ordering_info = ordering
    if "publish_to_shops" in params:
        shops: Any = params.json("publish_to_shops", [], lenient=True)
        if not isinstance(shops, list) or not all(isinstance(s, dict) and s.get("shop_id") for s in shops):
            raise errors.invalid_param('Param publish_to_shops must be a list of {"shop_id": ...} objects')
        product_set.publish_to_shops = shops


@route("catalog", "product_sets", "GET")
def product_sets(call: Call) -> dict:
    sets = ProductSet.objects.filter(catalog=call.node).select_related("catalog__business")
    if retailer_id := call.params.str("retailer_id"):
        sets = sets.filter(retailer_id=retailer_id)
    return paginate(call.request, call.params, sets, lambda product_set: _node(call, product_set))


@route("catalog", "product_sets", "POST")
def create_product_set(call: Call) -> dict:
    call.params.required("name")
    product_set = ProductSet(catalog=call.node)
    _apply_params(call, product_set)
    product_set.save()
    return {"id": product_set.fbid}


@route("product_set", "", "GET")
def product_set(call: Call) -> dict:
    return _node(call, call.node)


@route("product_set", "", "POST")
def update_product_set(call: Call) -> dict:
    _apply_params(call, call.node)
    call.node.save()
    return {"id": call.node.fbid, "success": True}


@route("product_set", "", "DELETE")
def delete_product_set(call: Call) -> dict:
    if call.node.is_live and not call.params.bool("allow_live_product_set_deletion", False):
        raise errors.invalid_param(
            "This product set is used live in a shop collection. Pass allow_live_product_set_deletion=true "
            "to delete it anyway."
        )
    call.node.delete()
    return {"success": True}


@route("product_set", "products", "GET")
def product_set_products(call: Call) -> dict:
    items = apply_filter(ProductItem.objects.filter(catalog=call.catalog), call.node.filter)
    return list_products(call, items)
