"""Meta's product-set filter grammar, compiled to a Django query.

``{"retailer_id": {"is_any": ["A", "B"]}}``, ``{"and": [{"price": {"lt": 2000}},
{"name": {"i_contains": "shirt"}}]}``, ``{"or": [...]}``, ``{"not": {...}}``; several
fields in one object are combined with AND. Prices compare in minor units (cents).
"""

from __future__ import annotations

from typing import Any

from django.db.models import FloatField, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from ..models import ProductItem
from . import errors

# Filter field -> (column, kind) for fields stored as columns.
COLUMNS = {
    "retailer_id": ("retailer_id", "text"),
    "id": ("pk", "fbid"),
    "name": ("title", "text"),
    "title": ("title", "text"),
    "availability": ("availability", "text"),
    "condition": ("condition", "text"),
    "brand": ("brand", "text"),
    "visibility": ("visibility", "text"),
    "review_status": ("review_status", "text"),
    "product_type": ("product_type", "text"),
    "currency": ("currency", "text"),
    "retailer_product_group_id": ("item_group_id", "text"),
    "item_group_id": ("item_group_id", "text"),
    "price": ("price_amount", "number"),
    "sale_price": ("sale_price_amount", "number"),
}
# Filter field (Graph or items_batch name) -> key in the item's data.
DATA_KEYS = {
    "description": "description",
    "category": "google_product_category",
    "google_product_category": "google_product_category",
    "fb_product_category": "fb_product_category",
    "color": "color",
    "size": "size",
    "gender": "gender",
    "age_group": "age_group",
    "material": "material",
    "pattern": "pattern",
    "gtin": "gtin",
    "mpn": "mpn",
    "manufacturer_part_number": "mpn",
    "url": "link",
    "link": "link",
    "image_url": "image_link",
    "origin_country": "origin_country",
    **{f"custom_label_{n}": f"custom_label_{n}" for n in range(5)},
}
NUMERIC_DATA_KEYS = {
    "inventory": "quantity_to_sell_on_facebook",
    "quantity_to_sell_on_facebook": "quantity_to_sell_on_facebook",
    **{f"custom_number_{n}": f"custom_number_{n}" for n in range(5)},
}
TEXT_OPERATORS = {
    "eq": ("exact", False),
    "neq": ("exact", True),
    "contains": ("contains", False),
    "not_contains": ("contains", True),
    "i_contains": ("icontains", False),
    "i_not_contains": ("icontains", True),
    "starts_with": ("startswith", False),
    "i_starts_with": ("istartswith", False),
    "is_any": ("in", False),
    "is_not_any": ("in", True),
    "lt": ("lt", False),
    "lte": ("lte", False),
    "gt": ("gt", False),
    "gte": ("gte", False),
}
NUMBER_OPERATORS = {"eq", "neq", "lt", "lte", "gt", "gte", "is_any", "is_not_any"}


class _Compiler:
    def __init__(self) -> None:
        self.aliases: dict[str, Any] = {}

    def node(self, value: Any) -> Q:
        if not isinstance(value, dict) or not value:
            raise errors.invalid_param("Invalid filter: each filter must be a non-empty JSON object")
        result = Q()
        for key, rule in value.items():
            if key in ("and", "or"):
                if not isinstance(rule, list) or not rule:
                    raise errors.invalid_param(f'Invalid filter: "{key}" takes a non-empty list of filters')
                parts = [self.node(part) for part in rule]
                combined = parts[0]
                for part in parts[1:]:
                    combined = (combined & part) if key == "and" else (combined | part)
                result &= combined
            elif key == "not":
                result &= ~self.node(rule)
            else:
                result &= self.field(key, rule)
        return result

    def target(self, field: str) -> tuple[str, str]:
        if field in COLUMNS:
            return COLUMNS[field]
        if field in DATA_KEYS or field in NUMERIC_DATA_KEYS:
            numeric = field in NUMERIC_DATA_KEYS
            key = NUMERIC_DATA_KEYS[field] if numeric else DATA_KEYS[field]
            alias = f"_f_{key}" + ("_num" if numeric else "")
            expression = KeyTextTransform(key, "data")
            # Cast even text: lookups on a bare key transform would compare JSON, not text.
            self.aliases[alias] = Cast(expression, FloatField() if numeric else TextField())
            return alias, "number" if numeric else "text"
        raise errors.invalid_param(f"Invalid filter: unknown field '{field}'")

    def field(self, field: str, rule: Any) -> Q:
        if not isinstance(rule, dict) or len(rule) != 1:
            raise errors.invalid_param(f'Invalid filter for "{field}": use {{"<operator>": <value>}}')
        ((operator, value),) = rule.items()
        column, kind = self.target(field)
        if operator not in TEXT_OPERATORS or (kind in ("number", "fbid") and operator not in NUMBER_OPERATORS):
            raise errors.invalid_param(f"Invalid filter: operator '{operator}' is not supported for '{field}'")
        lookup, negate = TEXT_OPERATORS[operator]
        if lookup == "in":
            if not isinstance(value, list):
                raise errors.invalid_param(f"Invalid filter: '{operator}' takes a list of values")
            value = [self.coerce(field, kind, v) for v in value]
        else:
            value = self.coerce(field, kind, value)
        condition = Q(pk__in=[]) if kind == "fbid" and value is None else Q(**{f"{column}__{lookup}": value})
        return ~condition if negate else condition

    @staticmethod
    def coerce(field: str, kind: str, value: Any) -> Any:
        if kind == "fbid":
            return ProductItem.pk_from_fbid(str(value))
        if kind == "number":
            try:
                return float(value) if field in NUMERIC_DATA_KEYS else int(value)
            except (TypeError, ValueError):
                raise errors.invalid_param(f"Invalid filter: '{field}' compares numbers") from None
        if isinstance(value, dict | list):
            raise errors.invalid_param(f"Invalid filter: '{field}' compares text")
        return str(value)


def apply_filter(queryset: QuerySet, product_filter: Any) -> QuerySet:
    """Narrow a ProductItem queryset by a (decoded) product-set filter; None keeps all."""
    if product_filter in (None, {}, ""):
        return queryset
    compiler = _Compiler()
    condition = compiler.node(product_filter)
    if compiler.aliases:
        queryset = queryset.alias(**compiler.aliases)
    return queryset.filter(condition)


def validate_filter(product_filter: Any) -> None:
    """Raise the (#100) error a malformed filter gets, without running it."""
    if product_filter not in (None, {}, ""):
        _Compiler().node(product_filter)
