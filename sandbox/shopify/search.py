"""Shopify search syntax (the `query:` argument) translated into ORM filters.

Supported: `field:value`, `field:>value` (also >=, <, <=), quoted values, comma lists
(`status:active,draft`), `-field:value` / `NOT field:value`, `AND` (implicit) and `OR`, and bare
words (matched against the title). Unknown fields are ignored, as Shopify ignores them.
"""

import re
import shlex
from collections.abc import Callable

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from . import ids

TOKEN = re.compile(r"(-?)([A-Za-z_]+):(>=|<=|>|<)?(.*)")


def _split(query: str) -> list[str]:
    lexer = shlex.shlex(query, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = "'\""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quote: fall back to plain splitting
        return query.split()


def _datetime(value: str):
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is not None:
            import datetime as dt

            parsed = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return parsed


def _number_or_gid(value: str) -> int | None:
    if value.isdigit():
        return int(value)
    parsed = ids.parse_gid(value)
    return parsed[1] if parsed else None


LOOKUP = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}

FieldHandler = Callable[[str, str | None], Q | None]


def _range(field: str, convert: Callable[[str], object]) -> FieldHandler:
    def handler(value: str, op: str | None) -> Q | None:
        converted = convert(value)
        if converted is None:
            return None
        return Q(**{f"{field}__{LOOKUP[op]}" if op else field: converted})

    return handler


def _text(field: str, lookup: str = "iexact") -> FieldHandler:
    def handler(value: str, op: str | None) -> Q:
        if value.endswith("*"):
            return Q(**{f"{field}__istartswith": value[:-1]})
        return Q(**{f"{field}__{lookup}": value})

    return handler


def _choices(field: str, upper: bool = True) -> FieldHandler:
    def handler(value: str, op: str | None) -> Q:
        values = [v.strip().upper() if upper else v.strip() for v in value.split(",") if v.strip()]
        return Q(**{f"{field}__in": values})

    return handler


def _tag(field: str) -> FieldHandler:
    def handler(value: str, op: str | None) -> Q:
        # tags are a JSON list; match the exact element inside the serialized list.
        return Q(**{f"{field}__icontains": f'"{value}"'})

    return handler


def _published(value: str, op: str | None) -> Q | None:
    value = value.lower()
    if value in ("published", "online_store:visible", "visible"):
        return Q(published_at__isnull=False, status="ACTIVE")
    if value in ("unpublished", "online_store:hidden", "hidden"):
        return Q(published_at__isnull=True) | ~Q(status="ACTIVE")
    return None


def _product_sku(value: str, op: str | None) -> Q:
    return Q(variants__sku__iexact=value)


def _collection(value: str, op: str | None) -> Q | None:
    number = _number_or_gid(value)
    return Q(memberships__collection__legacy_id=number) if number is not None else None


PRODUCT_FIELDS: dict[str, FieldHandler] = {
    "id": _range("legacy_id", _number_or_gid),
    "title": _text("title", "icontains"),
    "handle": _text("handle"),
    "vendor": _text("vendor"),
    "product_type": _text("product_type"),
    "status": _choices("status"),
    "tag": _tag("tags"),
    "updated_at": _range("updated_at", _datetime),
    "created_at": _range("created_at", _datetime),
    "published_at": _range("published_at", _datetime),
    "published_status": _published,
    "sku": _product_sku,
    "barcode": lambda v, op: Q(variants__barcode=v),
    "collection_id": _collection,
}
VARIANT_FIELDS: dict[str, FieldHandler] = {
    "id": _range("legacy_id", _number_or_gid),
    "sku": _text("sku"),
    "barcode": _text("barcode"),
    "title": _text("title", "icontains"),
    "product_id": _range("product__legacy_id", _number_or_gid),
    "updated_at": _range("updated_at", _datetime),
    "created_at": _range("created_at", _datetime),
    "inventory_quantity": _range("inventory_quantity", lambda v: int(v) if v.lstrip("-").isdigit() else None),
    "product_status": _choices("product__status"),
    "vendor": _text("product__vendor"),
    "tag": _tag("product__tags"),
}
COLLECTION_FIELDS: dict[str, FieldHandler] = {
    "id": _range("legacy_id", _number_or_gid),
    "title": _text("title", "icontains"),
    "handle": _text("handle"),
    "updated_at": _range("updated_at", _datetime),
    "collection_type": lambda v, op: Q(rules__isnull=v.lower() != "smart"),
}
ORDER_FIELDS: dict[str, FieldHandler] = {
    "id": _range("legacy_id", _number_or_gid),
    "financial_status": _text("financial_status"),
    "updated_at": _range("updated_at", _datetime),
    "created_at": _range("created_at", _datetime),
}


def to_q(query: str | None, fields: dict[str, FieldHandler], free_text_field: str = "title") -> Q:
    """A Q object for a Shopify search query string (empty Q for an empty query)."""
    if not query or not query.strip():
        return Q()
    alternatives: list[Q] = []
    current = Q()
    negate_next = False
    for token in _split(query):
        if token == "OR":
            alternatives.append(current)
            current = Q()
            continue
        if token == "AND":
            continue
        if token == "NOT":
            negate_next = True
            continue
        match = TOKEN.fullmatch(token)
        if match:
            minus, name, op, value = match.groups()
            handler = fields.get(name.lower())
            condition = handler(value, op) if handler else None
            negate = bool(minus) or negate_next
        else:
            condition = Q(**{f"{free_text_field}__icontains": token.lstrip("-")})
            negate = token.startswith("-") or negate_next
        negate_next = False
        if condition is None:
            continue
        current &= ~condition if negate else condition
    alternatives.append(current)
    result = alternatives[0]
    for alternative in alternatives[1:]:
        result |= alternative
    return result
