"""debug_token, /me, businesses and the catalogs and pixels they own."""

from __future__ import annotations

from ...models import Pixel, ProductCatalog
from .. import errors
from ..paging import paginate
from ..router import Call, route
from ..serializers import business_node, catalog_node, pixel_node, select_dict, user_node
from ..tokens import describe_token


@route("root", "debug_token", "GET", scope=None)
def debug_token(call: Call) -> dict:
    return {"data": describe_token(str(call.params.required("input_token")), call.now)}


@route("user", "", "GET", scope=None)
def me(call: Call) -> dict:
    return user_node(call.node, call.selection)


@route("user", "businesses", "GET", scope="business_management")
def my_businesses(call: Call) -> dict:
    business = call.caller.business
    return {"data": [business_node(business, call.selection)]}


@route("app", "", "GET", scope=None)
def application(call: Call) -> dict:
    return select_dict({"id": call.node.fbid, "name": call.node.name}, call.selection)


@route("business", "", "GET", scope="business_management")
def business(call: Call) -> dict:
    return business_node(call.node, call.selection)


@route("business", "owned_product_catalogs", "GET", scope="business_management")
def owned_catalogs(call: Call) -> dict:
    catalogs = ProductCatalog.objects.filter(business=call.node).select_related("business")
    return paginate(
        call.request,
        call.params,
        catalogs,
        lambda catalog: catalog_node(catalog, call.selection),
        summary=lambda: {"total_count": catalogs.count()},
    )


@route("business", "owned_product_catalogs", "POST", scope="business_management")
def create_catalog(call: Call) -> dict:
    call.caller.require_scope("catalog_management")
    name = str(call.params.required("name")).strip()
    if not name or len(name) > 255:
        raise errors.invalid_param("Param name must be between 1 and 255 characters")
    vertical = call.params.enum("vertical", ProductCatalog.Vertical.values, ProductCatalog.Vertical.COMMERCE)
    catalog = ProductCatalog.objects.create(business=call.node, name=name, vertical=vertical)
    return {"id": catalog.fbid}


@route("business", "client_product_catalogs", "GET", scope="business_management")
def client_catalogs(call: Call) -> dict:
    # Sandbox businesses never have catalogs shared with them by another business.
    return {"data": []}


@route("business", "owned_pixels", "GET", scope="business_management")
@route("business", "adspixels", "GET", scope="business_management")
def owned_pixels(call: Call) -> dict:
    pixels = Pixel.objects.filter(business=call.node).select_related("business")
    return paginate(call.request, call.params, pixels, lambda pixel: pixel_node(pixel, call.selection))
