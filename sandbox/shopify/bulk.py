"""Bulk query operations: validate the query, run it in slices, write the JSONL Shopify would write.

A run needs no background worker: each status poll (``currentBulkOperation`` / ``node(id:)``)
spends at most `SANDBOX_SHOPIFY_BULK_SLICE_SECONDS` writing the next slice of the file, keyed by
the last root object written, so a million-variant export streams in constant memory and
survives restarts. The file is then served by URL like Shopify's signed storage link.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

from .graphql.cost import _fields
from .graphql.executor import get_schema, parse_document
from .graphql.queries import collections_matching, products_matching, variants_matching
from .graphql.registry import Context, default_field_resolver
from .graphql.types import product_queryset, resolve_node_type
from .models import BulkOperation, Order, Shop

# Root objects fetched per database round trip while writing a slice.
ROOT_CHUNK = 250
MAX_CONNECTIONS = 5
MAX_NESTING = 2
# Versions before 2026-01 allow one bulk query at a time per shop; later ones five.
CONCURRENT_FROM_VERSION = "2026-01"
CONCURRENT_LIMIT = 5
LEASE_GRACE_SECONDS = 30


class BulkQueryError(Exception):
    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BulkInfo:
    """The parts of GraphQLResolveInfo the sandbox's resolvers read."""

    parent_type: GraphQLObjectType
    field_name: str
    field_nodes: list[FieldNode]
    context: Context
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    variable_values: dict[str, Any] = field(default_factory=dict)


def result_path(op: BulkOperation) -> Path:
    return Path(settings.MEDIA_ROOT) / "sandbox_shopify" / "bulk" / op.file_name


def result_expired(op: BulkOperation) -> bool:
    """Shopify's result URL works for 7 days (``SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS``)."""
    ttl = settings.SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS
    return op.completed_at is not None and (timezone.now() - op.completed_at).total_seconds() >= ttl


def result_url(op: BulkOperation, base_url: str | None = None) -> str:
    """Download URL of the result file; no auth header needed (the token is in the path)."""
    return f"{(base_url or settings.SITE_URL).rstrip('/')}/sandbox/shopify/bulk/{op.download_token}.jsonl"


# ------------------------------------------------------------------------------ validating


def _connection_depths(selection_set: SelectionSetNode | None, parent, fragments, depth: int, found: list[int]):
    schema = get_schema()
    for node, owner in _fields(selection_set, parent, schema, fragments):
        definition = getattr(owner, "fields", {}).get(node.name.value)
        if definition is None:
            continue
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            continue
        if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
            found.append(depth)
            node_type = get_named_type(named.fields["nodes"].type)
            for sub in _node_selection_sets(node):
                _connection_depths(sub, node_type, fragments, depth + 1, found)
        else:
            _connection_depths(node.selection_set, named, fragments, depth, found)


def _node_selection_sets(node: FieldNode) -> list[SelectionSetNode]:
    out = []
    for selection in node.selection_set.selections if node.selection_set else ():
        if not isinstance(selection, FieldNode) or selection.selection_set is None:
            continue
        if selection.name.value == "nodes":
            out.append(selection.selection_set)
        elif selection.name.value == "edges":
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node" and inner.selection_set:
                    out.append(inner.selection_set)
    return out


ROOTS = {"products", "productVariants", "collections", "orders"}


def check_query(query: str) -> None:
    """Raise BulkQueryError unless `query` is a bulk query Shopify would accept."""
    document, errors = parse_document(query)
    if document is None:
        raise BulkQueryError(f"Invalid bulk query: {errors[0]['message']}")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        raise BulkQueryError("Invalid bulk query: a bulk query must contain exactly one query operation")
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    roots = list(_fields(operations[0].selection_set, get_schema().query_type, get_schema(), fragments))
    if len(roots) != 1:
        raise BulkQueryError("Invalid bulk query: bulk queries must have exactly one top-level field")
    found: list[int] = []
    _connection_depths(operations[0].selection_set, get_schema().query_type, fragments, 1, found)
    if not found:
        raise BulkQueryError("Invalid bulk query: Bulk queries must contain at least one connection.")
    if roots[0][0].name.value not in ROOTS:
        raise BulkQueryError(
            f"Invalid bulk query: the top-level field '{roots[0][0].name.value}' is not supported in bulk queries"
        )
    if len(found) > MAX_CONNECTIONS:
        raise BulkQueryError(
            f"Invalid bulk query: Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
        )
    if max(found) > MAX_NESTING:
        raise BulkQueryError(
            "Invalid bulk query: Bulk queries cannot contain connections with a nesting depth greater than "
            f"{MAX_NESTING}."
        )


def start_query(shop: Shop, query: str, api_version: str) -> BulkOperation:
    """Create a bulk query operation (raise BulkQueryError like Shopify's userErrors)."""
    check_query(query)
    active = BulkOperation.objects.filter(
        shop=shop, type=BulkOperation.Type.QUERY, status__in=BulkOperation.ACTIVE_STATUSES
    ).order_by("created_at")
    version = "9999-99" if api_version == "unstable" else api_version
    if version < CONCURRENT_FROM_VERSION:
        current = active.first()
        if current is not None:
            raise BulkQueryError(
                f"A bulk query operation for this app and shop is already in progress: {current.gid}.",
                code="OPERATION_IN_PROGRESS",
            )
    elif active.count() >= CONCURRENT_LIMIT:
        raise BulkQueryError(
            f"The limit of {CONCURRENT_LIMIT} concurrent bulk query operations has been reached.",
            code="LIMIT_REACHED",
        )
    op = BulkOperation(shop=shop, legacy_id=shop.new_legacy_id("BulkOperation"), query=query, api_version=api_version)
    op.file_name = f"{shop.pk}-{op.legacy_id}-{op.download_token[:12]}.jsonl"
    op.save()
    return op


def cancel(op: BulkOperation) -> BulkOperation:
    if op.status in (BulkOperation.Status.CREATED, BulkOperation.Status.RUNNING):
        BulkOperation.objects.filter(pk=op.pk).update(status=BulkOperation.Status.CANCELING)
        op.refresh_from_db()
    return op


# ------------------------------------------------------------------------------- running


def advance(op: BulkOperation, *, slice_seconds: float | None = None) -> BulkOperation:
    """Move an operation along (lazily, on poll): start it after the delay, write the next slice."""
    if op.status == BulkOperation.Status.CANCELING:
        BulkOperation.objects.filter(pk=op.pk, status=BulkOperation.Status.CANCELING).update(
            status=BulkOperation.Status.CANCELED, completed_at=timezone.now()
        )
        op.refresh_from_db()
        _notify_finished(op)
        return op
    if op.status not in (BulkOperation.Status.CREATED, BulkOperation.Status.RUNNING):
        return op
    now = timezone.now()
    if op.status == BulkOperation.Status.CREATED:
        if (now - op.created_at).total_seconds() < settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS:
            return op
        BulkOperation.objects.filter(pk=op.pk, status=BulkOperation.Status.CREATED).update(
            status=BulkOperation.Status.RUNNING, started_at=now
        )
        op.refresh_from_db()
    budget = settings.SANDBOX_SHOPIFY_BULK_SLICE_SECONDS if slice_seconds is None else slice_seconds
    lease = now + dt.timedelta(seconds=budget + LEASE_GRACE_SECONDS)
    claimed = BulkOperation.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=op.pk, status=BulkOperation.Status.RUNNING
    ).update(claimed_until=lease)
    if not claimed:
        return op  # another request is writing the next slice
    try:
        _write_slice(op, budget)
    except Exception:
        BulkOperation.objects.filter(pk=op.pk).update(
            status=BulkOperation.Status.FAILED,
            error_code=BulkOperation.ErrorCode.INTERNAL_SERVER_ERROR,
            completed_at=timezone.now(),
            claimed_until=None,
        )
        op.refresh_from_db()
        _notify_finished(op)
        raise
    op.refresh_from_db()
    if op.status == BulkOperation.Status.COMPLETED:
        _notify_finished(op)
    return op


def run_to_completion(op: BulkOperation) -> BulkOperation:
    """Finish an operation in this call (admin, commands, tests)."""
    while op.status in BulkOperation.ACTIVE_STATUSES:
        if op.status == BulkOperation.Status.CREATED:
            BulkOperation.objects.filter(pk=op.pk).update(
                status=BulkOperation.Status.RUNNING, started_at=timezone.now()
            )
            op.refresh_from_db()
        op = advance(op, slice_seconds=3600)
    return op


def _root_queryset(info: BulkInfo, root: FieldNode, args: dict[str, Any]):
    name = root.name.value
    query = args.get("query")
    if name == "products":
        return product_queryset(info, products_matching(info, query))
    if name == "productVariants":
        return variants_matching(info, query).select_related("product", "image")
    if name == "collections":
        return collections_matching(info, query)
    return Order.objects.filter(shop=info.context.shop)


def _write_slice(op: BulkOperation, budget: float) -> None:
    schema = get_schema()
    document, _ = parse_document(op.query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root, _owner = next(iter(_fields(operation.selection_set, schema.query_type, schema, fragments)))
    context = Context(shop=op.shop, api_version=op.api_version, bulk=True)
    info = BulkInfo(schema.query_type, root.name.value, [root], context, fragments)
    root_field = schema.query_type.fields[root.name.value]
    args = get_argument_values(root_field, root, {})
    queryset = _root_queryset(info, root, args)
    connection_type = get_named_type(root_field.type)
    node_type = get_named_type(connection_type.fields["nodes"].type)
    selections = _node_selection_sets(root)
    writer = _JsonlWriter(context, fragments)
    path = result_path(op)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + budget
    last_pk = op.resume_after_pk
    done = False
    with path.open("a", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            chunk = list(queryset.filter(pk__gt=last_pk).order_by("pk")[:ROOT_CHUNK])
            if not chunk:
                done = True
                break
            objects = roots = size = 0
            for obj in chunk:
                for line in writer.lines(obj, node_type, selections, parent_gid=None):
                    out.write(line)
                    objects += 1
                    size += len(line.encode())
                roots += 1
            out.flush()
            last_pk = chunk[-1].pk
            BulkOperation.objects.filter(pk=op.pk).update(
                resume_after_pk=last_pk,
                object_count=op.object_count + objects,
                root_object_count=op.root_object_count + roots,
                file_size=(op.file_size or 0) + size,
            )
            op.refresh_from_db(fields=["object_count", "root_object_count", "file_size"])
            if op.status == BulkOperation.Status.CANCELING:
                break
    updates: dict[str, Any] = {"claimed_until": None}
    if done:
        updates.update(status=BulkOperation.Status.COMPLETED, completed_at=timezone.now())
    BulkOperation.objects.filter(pk=op.pk, status=BulkOperation.Status.RUNNING).update(**updates)
    BulkOperation.objects.filter(pk=op.pk).update(claimed_until=None)


class _JsonlWriter:
    """Projects objects through a selection set; nested connections become `__parentId` lines."""

    def __init__(self, context: Context, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.context, self.fragments, self.schema = context, fragments, get_schema()

    def lines(self, obj: Any, node_type, selections: list[SelectionSetNode], parent_gid: str | None):
        object_type = self._runtime_type(obj, node_type)
        children: list[tuple[Any, Any, list[SelectionSetNode]]] = []
        line: dict[str, Any] = {}
        for selection_set in selections:
            line.update(self._project(obj, object_type, selection_set, children))
        gid = self._resolve(obj, object_type, "id", None)
        if parent_gid is not None and not line and not children:
            # A child no selected field applies to (a Video under ``... on MediaImage``) is
            # written as no line at all rather than a bare ``__parentId`` (unverified either way).
            return
        if parent_gid is not None:
            line["__parentId"] = parent_gid
        yield json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        for connection, child_type, child_selections in children:
            for child in connection["nodes"]:
                yield from self.lines(child, child_type, child_selections, gid)

    def _runtime_type(self, obj: Any, declared):
        if is_abstract_type(declared):
            return self.schema.get_type(resolve_node_type(obj, None, declared))
        return declared

    def _resolve(self, obj: Any, object_type, name: str, node: FieldNode | None) -> Any:
        definition = object_type.fields[name]
        args = get_argument_values(definition, node, {}) if node is not None else {}
        info = BulkInfo(object_type, name, [node] if node is not None else [], self.context, self.fragments)
        return default_field_resolver(obj, info, **args)

    def _project(self, obj: Any, object_type, selection_set: SelectionSetNode, children: list) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node, owner in _fields(selection_set, object_type, self.schema, self.fragments):
            if owner is not object_type and not self._applies(owner, object_type):
                continue
            key = node.alias.value if node.alias else node.name.value
            if node.name.value == "__typename":
                out[key] = object_type.name
                continue
            definition = object_type.fields[node.name.value]
            named = get_named_type(definition.type)
            value = self._resolve(obj, object_type, node.name.value, node)
            if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
                node_type = get_named_type(named.fields["nodes"].type)
                children.append((value, node_type, _node_selection_sets(node)))
                continue
            out[key] = self._complete(value, definition.type, node)
        return out

    def _applies(self, owner, object_type) -> bool:
        if owner is object_type:
            return True
        if is_abstract_type(owner):
            return self.schema.is_sub_type(owner, object_type)
        return False

    def _complete(self, value: Any, gql_type, node: FieldNode) -> Any:
        if isinstance(gql_type, GraphQLNonNull):
            gql_type = gql_type.of_type
        if value is None:
            return None
        if isinstance(gql_type, GraphQLList):
            return [self._complete(item, gql_type.of_type, node) for item in value]
        if is_leaf_type(gql_type):
            return gql_type.serialize(value)
        object_type = self._runtime_type(value, gql_type)
        nested: list = []
        return self._project(value, object_type, node.selection_set, nested)


def _notify_finished(op: BulkOperation) -> None:
    from .webhooks import emit

    emit(
        op.shop,
        "bulk_operations/finish",
        {
            "admin_graphql_api_id": op.gid,
            "completed_at": op.completed_at.isoformat() if op.completed_at else None,
            "created_at": op.created_at.isoformat(),
            "error_code": op.error_code.lower() or None,
            "status": op.status.lower(),
            "type": op.type.lower(),
        },
    )
