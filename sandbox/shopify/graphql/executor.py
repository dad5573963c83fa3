"""Run one Admin API GraphQL request: parse, validate, price, throttle, execute, answer like Shopify."""

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from .. import throttle
from ..models import Shop
from . import mutations, queries, types  # noqa: F401  (register resolvers)
from .cost import SINGLE_QUERY_MAX_COST, CostCalculator
from .registry import Context, default_field_resolver

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _decimal(value: Any) -> str:
    # Shopify's Decimal scalar: "39.0", "39.95".
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else text + ".0"


def _money_input(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise GraphQLError(f"Could not coerce value {value!r} to Money") from exc
    if not amount.is_finite():
        raise GraphQLError(f"Could not coerce value {value!r} to Money")
    return str(amount)


@cache
def get_schema() -> GraphQLSchema:
    """The sandbox's Admin API schema with resolvers and scalar codecs attached (built once)."""
    schema = build_schema(SCHEMA_FILE.read_text())
    codecs = {
        "DateTime": (_iso, str),
        "Money": (str, _money_input),
        "Decimal": (_decimal, _money_input),
        "UnsignedInt64": (str, str),
        "URL": (str, str),
        "HTML": (str, str),
    }
    for name, (serialize, parse_value) in codecs.items():
        scalar = schema.get_type(name)
        scalar.serialize = serialize
        scalar.parse_value = parse_value
    for name in ("Node", "Media", "WebhookSubscriptionEndpoint"):
        schema.get_type(name).resolve_type = types.resolve_node_type
    return schema


def _ruby_style(error: GraphQLError) -> dict[str, Any]:
    """A validation error in the shape graphql-ruby (Shopify) gives it."""
    formatted = error.formatted
    message = error.message
    match = re.match(r"Cannot query field '([^']+)' on type '([^']+)'\.", message)
    if match:
        formatted["message"] = f"Field '{match[1]}' doesn't exist on type '{match[2]}'"
        formatted["extensions"] = {"code": "undefinedField", "typeName": match[2], "fieldName": match[1]}
        return formatted
    match = re.match(r"Unknown argument '([^']+)' on field '([^.]+)\.([^']+)'\.", message)
    if match:
        formatted["message"] = f"Field '{match[3]}' doesn't accept argument '{match[1]}'"
        formatted["extensions"] = {"code": "argumentNotAccepted", "name": match[3], "argumentName": match[1]}
        return formatted
    formatted.setdefault("extensions", {"code": "invalidQuery"})
    return formatted


def parse_document(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """Parse and validate; (document, []) or (None, Shopify-style errors)."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        location = error.locations[0] if error.locations else None
        where = f" at [{location.line}, {location.column}]" if location else ""
        entry: dict[str, Any] = {"message": f"Parse error{where}: {error.description}"}
        if location:
            entry["locations"] = [{"line": location.line, "column": location.column}]
        return None, [entry]
    errors = validate(get_schema(), document)
    if errors:
        return None, [_ruby_style(error) for error in errors]
    return document, []


def _cost_extension(requested: int, actual: int | None, status: throttle.BucketStatus) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status.as_dict(),
        }
    }


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def run(
    shop: Shop,
    api_version: str,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    base_url: str = "",
) -> dict[str, Any]:
    """Execute one GraphQL request for `shop` and return the JSON body Shopify would send."""
    document, errors = parse_document(query)
    if document is None:
        return {"errors": errors}
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        message = (
            f'No operation named "{operation_name}"'
            if operation_name
            else "An operation name is required when the document has several operations"
        )
        return {"errors": [{"message": message}]}
    calculator = CostCalculator(get_schema(), operation, _fragments(document), variables or {})
    requested = calculator.requested()
    if requested > SINGLE_QUERY_MAX_COST:
        return {
            "errors": [
                {
                    "message": (
                        f"Query cost is {requested}, which exceeds the single query max cost limit "
                        f"({SINGLE_QUERY_MAX_COST}).\n\nSee {RATE_LIMIT_DOCS} for more information on how the\n"
                        "cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, "
                        "bulk operations should be used instead.\nSee "
                        "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
                    ),
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": SINGLE_QUERY_MAX_COST},
                }
            ],
        }
    allowed, status = throttle.take(shop.pk, requested)
    if not allowed:
        return {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS}}],
            "extensions": _cost_extension(requested, None, status),
        }
    context = Context(shop=shop, api_version=api_version, base_url=base_url)
    result = execute(
        get_schema(),
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=default_field_resolver,
    )
    actual = calculator.actual(result.data) if result.data is not None else 0
    status = throttle.refund(shop.pk, requested - actual)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_error_entry(error) for error in result.errors]
    if result.data is not None:
        body["data"] = result.data
    body["extensions"] = _cost_extension(requested, actual, status)
    return body


def _error_entry(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        # An unexpected failure inside a resolver: Shopify answers an opaque internal error.
        entry = {
            "message": "Internal error. Looks like something went wrong on our end.",
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
        if error.path:
            entry["path"] = list(error.path)
        import logging

        logging.getLogger(__name__).exception("sandbox resolver failed", exc_info=original)
        return entry
    return error.formatted
