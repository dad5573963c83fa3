"""The catalog node, its commerce settings, diagnostics, event sources and the error taxonomy."""

from __future__ import annotations

from ...models import Pixel, ProductCatalog
from .. import errors, taxonomy
from ..diagnostics import catalog_diagnostics
from ..router import Call, route
from ..serializers import catalog_node, commerce_settings_node, event_source_node, select_dict


@route("root", "catalog_all_errors", "GET", scope=None)
def catalog_all_errors(call: Call) -> dict:
    return {"all": taxonomy.catalog_all_errors()}


@route("catalog", "", "GET")
def catalog(call: Call) -> dict:
    return catalog_node(call.node, call.selection)


@route("catalog", "", "POST")
def update_catalog(call: Call) -> dict:
    catalog: ProductCatalog = call.node
    changed = []
    if "name" in call.params:
        name = call.params.str("name").strip()
        if not name or len(name) > 255:
            raise errors.invalid_param("Param name must be between 1 and 255 characters")
        catalog.name = name
        changed.append("name")
    for field in ("default_image_url", "fallback_image_url"):
        if field in call.params:
            setattr(catalog, field, call.params.str(field))
            changed.append(field)
    if changed:
        catalog.save(update_fields=changed)
    return {"success": True}


@route("catalog", "", "DELETE")
def delete_catalog(call: Call) -> dict:
    catalog: ProductCatalog = call.node
    live_sets = [s for s in catalog.product_sets.all() if s.is_live]
    if live_sets and not call.params.bool("allow_delete_catalog_with_live_product_set", False):
        raise errors.invalid_param(
            "This catalog has product sets that are live in a shop. Pass "
            "allow_delete_catalog_with_live_product_set=true to delete it anyway."
        )
    catalog.delete()
    return {"success": True}


@route("commerce_settings", "", "GET")
def commerce_settings(call: Call) -> dict:
    return commerce_settings_node(call.node, call.selection)


@route("catalog", "diagnostics", "GET")
def diagnostics(call: Call) -> dict:
    groups = catalog_diagnostics(call.node, call.params)
    return {"data": [select_dict(group, call.selection) for group in groups]}


def _pixels_param(call: Call) -> list[Pixel]:
    ids = call.params.list("external_event_sources")
    if not ids:
        raise errors.param_required("external_event_sources")
    pixels = []
    for pixel_id in ids:
        pk = Pixel.pk_from_fbid(pixel_id)
        pixel = Pixel.objects.filter(pk=pk, business=call.node.business).first() if pk else None
        if pixel is None:
            raise errors.invalid_param(f"Invalid external event source id {pixel_id}: no pixel of this business")
        pixels.append(pixel)
    return pixels


@route("catalog", "external_event_sources", "GET")
def event_sources(call: Call) -> dict:
    pixels = call.node.external_event_sources.order_by("pk")
    return {"data": [event_source_node(pixel, call.selection) for pixel in pixels]}


@route("catalog", "external_event_sources", "POST")
def add_event_sources(call: Call) -> dict:
    call.node.external_event_sources.add(*_pixels_param(call))
    return {"success": True}


@route("catalog", "external_event_sources", "DELETE")
def remove_event_sources(call: Call) -> dict:
    call.node.external_event_sources.remove(*_pixels_param(call))
    return {"success": True}
