"""Nodes and edges: which object an id names (and whether the caller may see it), and
which handler answers ``METHOD /{node}/{edge}``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from ..models import (
    Business,
    CommerceMerchantSettings,
    FeedUpload,
    FeedUploadError,
    Kind,
    Pixel,
    ProductCatalog,
    ProductFeed,
    ProductGroup,
    ProductItem,
    ProductSet,
    SandboxApp,
    SystemUser,
    parse_fbid,
)
from . import errors
from .auth import Caller
from .fields import Selection
from .params import Params

ROOT_NODES = ("debug_token", "catalog_all_errors")


@dataclass
class Call:
    """Everything a handler needs about one Graph call."""

    request: HttpRequest
    params: Params
    caller: Caller
    method: str
    now: datetime
    node_type: str
    node_id: str
    node: Any
    edge: str
    catalog: ProductCatalog | None
    selection: Selection | None = None
    headers: dict[str, str] = field(default_factory=dict)
    trace: str = ""


Handler = Callable[[Call], dict]


@dataclass(frozen=True)
class Route:
    handler: Handler
    # Token permission the call needs (None: any valid token).
    scope: str | None


ROUTES: dict[tuple[str, str, str], Route] = {}


def route(node_type: str, edge: str, *methods: str, scope: str | None = "catalog_management") -> Callable:
    """Register a handler for ``METHOD /{node of node_type}/{edge}`` (edge "" is the node itself)."""

    def register(handler: Handler) -> Handler:
        for method in methods:
            ROUTES[(node_type, edge, method)] = Route(handler, scope)
        return handler

    return register


def find_route(node_type: str, edge: str, method: str) -> Route:
    found = ROUTES.get((node_type, edge, method))
    if found is not None:
        return found
    if any(key[:2] == (node_type, edge) for key in ROUTES):
        raise errors.unsupported_method(method, f"/{edge}" if edge else "this node")
    if edge:
        raise errors.unknown_path(edge)
    raise errors.unsupported_method(method, "this node")


@dataclass
class Resolved:
    node_type: str
    node: Any
    catalog: ProductCatalog | None = None
    business: Business | None = None


def _item_by_retailer_id(node_id: str) -> ProductItem | None:
    """``catalog:{catalog_id}:{base64url(retailer_id)}`` (SDK ``ProductCatalogMixin.update_product``)."""
    parts = node_id.split(":")
    if len(parts) != 3:
        return None
    catalog_pk = ProductCatalog.pk_from_fbid(parts[1])
    try:
        retailer_id = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if catalog_pk is None:
        return None
    return (
        ProductItem.objects.select_related("catalog__business", "group", "feed")
        .filter(catalog_id=catalog_pk, retailer_id=retailer_id)
        .first()
    )


def _load(kind: Kind, pk: int) -> Resolved | None:
    """Fetch the object behind an FBID with what the access check needs."""
    if kind == Kind.BUSINESS:
        obj = Business.objects.filter(pk=pk).first()
        return Resolved("business", obj, None, obj) if obj else None
    if kind == Kind.CATALOG:
        obj = ProductCatalog.objects.select_related("business").filter(pk=pk).first()
        return Resolved("catalog", obj, obj, obj.business) if obj else None
    per_catalog: dict[Kind, tuple[str, Any, str]] = {
        Kind.ITEM: ("item", ProductItem.objects.select_related("catalog__business", "group", "feed"), "catalog"),
        Kind.PRODUCT_GROUP: ("group", ProductGroup.objects.select_related("catalog__business"), "catalog"),
        Kind.FEED: ("feed", ProductFeed.objects.select_related("catalog__business"), "catalog"),
        Kind.UPLOAD: ("upload", FeedUpload.objects.select_related("feed__catalog__business"), "feed.catalog"),
        Kind.UPLOAD_ERROR: (
            "upload_error",
            FeedUploadError.objects.select_related("upload__feed__catalog__business"),
            "upload.feed.catalog",
        ),
        Kind.PRODUCT_SET: ("product_set", ProductSet.objects.select_related("catalog__business"), "catalog"),
        Kind.COMMERCE_SETTINGS: (
            "commerce_settings",
            CommerceMerchantSettings.objects.select_related("catalog__business"),
            "catalog",
        ),
    }
    if kind in per_catalog:
        node_type, queryset, path = per_catalog[kind]
        obj = queryset.filter(pk=pk).first()
        if obj is None:
            return None
        catalog = obj
        for attribute in path.split("."):
            catalog = getattr(catalog, attribute)
        return Resolved(node_type, obj, catalog, catalog.business)
    if kind == Kind.PIXEL:
        obj = Pixel.objects.select_related("business").filter(pk=pk).first()
        return Resolved("pixel", obj, None, obj.business) if obj else None
    if kind == Kind.SYSTEM_USER:
        obj = SystemUser.objects.select_related("business").filter(pk=pk).first()
        return Resolved("user", obj, None, obj.business) if obj else None
    if kind == Kind.APP:
        obj = SandboxApp.objects.filter(pk=pk).first()
        return Resolved("app", obj) if obj else None
    return None


def resolve_node(node_id: str, caller: Caller, method: str) -> Resolved:
    """The node an id names, if the caller may see it; Meta's (#100)/33 otherwise."""
    if node_id in ROOT_NODES:
        return Resolved("root", node_id)
    if node_id == "me":
        if caller.token is None:
            raise errors.GraphError(
                "An active access token must be used to query information about the current user.", code=2500
            )
        return Resolved("user", caller.token.system_user, None, caller.business)
    if node_id.startswith("catalog:"):
        item = _item_by_retailer_id(node_id)
        resolved = Resolved("item", item, item.catalog, item.catalog.business) if item else None
    else:
        parsed = parse_fbid(node_id)
        resolved = _load(*parsed) if parsed else None
    if resolved is None:
        raise errors.unknown_object(node_id, method)
    if resolved.node_type == "app":
        if caller.app is None or caller.app.pk != resolved.node.pk:
            raise errors.unknown_object(node_id, method)
        return resolved
    if caller.token is None or resolved.business is None or resolved.business.pk != caller.business.pk:
        # Another business's object looks exactly like a missing one, as on Meta.
        raise errors.unknown_object(node_id, method)
    if resolved.node_type == "user" and resolved.node.pk != caller.token.system_user_id:
        raise errors.unknown_object(node_id, method)
    if resolved.catalog is not None and not caller.token.can_use_catalog(resolved.catalog.fbid):
        raise errors.asset_not_assigned(resolved.catalog.fbid)
    return resolved
