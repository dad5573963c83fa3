"""Calculated query cost, the way Shopify charges GraphQL Admin API requests.

Scalars and enums cost 0, an object 1, a connection 2 plus the objects it may return (sized
by `first`/`last` for the requested cost, by what came back for the actual cost), multiplied
through nesting; every mutation field costs 10. A list of objects (``selectedOptions``, a
video's ``sources``) has no size argument and costs one object either way, so the actual
cost of a query never exceeds its requested cost ("the maximum of possible fields selected").
"""

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
# A single query may not cost more than this (MAX_COST_EXCEEDED).
SINGLE_QUERY_MAX_COST = 1000


def _fields(
    selection_set: SelectionSetNode | None,
    parent: GraphQLNamedType,
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
):
    """(field node, parent type) pairs of a selection set, fragments flattened."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            yield from _fields(selection.selection_set, target or parent, schema, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value) or parent
                yield from _fields(fragment.selection_set, target, schema, fragments)


def _argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") and "pageInfo" in named.fields


def _node_type(connection: GraphQLObjectType) -> GraphQLNamedType:
    return get_named_type(connection.fields["nodes"].type)


def _node_selections(node: FieldNode) -> list[SelectionSetNode]:
    """Selection sets applied to each node of a connection (under edges.node and nodes)."""
    out = []
    for selection in node.selection_set.selections if node.selection_set else ():
        if isinstance(selection, FieldNode) and selection.name.value == "nodes" and selection.selection_set:
            out.append(selection.selection_set)
        if isinstance(selection, FieldNode) and selection.name.value == "edges" and selection.selection_set:
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node" and inner.selection_set:
                    out.append(inner.selection_set)
    return out


class CostCalculator:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema, self.operation, self.fragments, self.variables = schema, operation, fragments, variables or {}

    def _root(self) -> GraphQLObjectType:
        if self.operation.operation == OperationType.MUTATION:
            return self.schema.mutation_type
        return self.schema.query_type

    def requested(self) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * sum(
                1 for _ in _fields(self.operation.selection_set, self._root(), self.schema, self.fragments)
            )
        return self._requested(self.operation.selection_set, self._root())

    def _requested(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        total = 0
        for node, owner in _fields(selection_set, parent, self.schema, self.fragments):
            field = getattr(owner, "fields", {}).get(node.name.value)
            if field is None:
                continue
            named = get_named_type(field.type)
            if is_leaf_type(named):
                continue
            if _is_connection(named):
                size = _argument(node, "first", self.variables) or _argument(node, "last", self.variables) or 0
                per_node = max((self._requested(s, _node_type(named)) for s in _node_selections(node)), default=0)
                total += 2 + int(size) * (1 + per_node)
            else:
                total += 1 + self._requested(node.selection_set, named)
        return total

    def actual(self, data: dict[str, Any] | None) -> int:
        if data is None:
            return 0
        if self.operation.operation == OperationType.MUTATION:
            return self.requested()
        return self._actual(self.operation.selection_set, self._root(), data)

    def _actual(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, data: Any) -> int:
        if not isinstance(data, dict):
            return 0
        total = 0
        for node, owner in _fields(selection_set, parent, self.schema, self.fragments):
            key = node.alias.value if node.alias else node.name.value
            field = getattr(owner, "fields", {}).get(node.name.value)
            if field is None or key not in data or data[key] is None:
                continue
            named = get_named_type(field.type)
            if is_leaf_type(named):
                continue
            value = data[key]
            if _is_connection(named):
                total += 2
                total += self._connection_items(node, named, value)
            elif isinstance(value, list):
                # A list of objects is not sized by an argument: Shopify prices it as one object
                # (what `requested` charges), so what it returns never costs more than was reserved.
                items = [item for item in value if item is not None]
                if items:
                    total += 1 + max(self._actual(node.selection_set, named, item) for item in items)
            else:
                total += 1 + self._actual(node.selection_set, named, value)
        return total

    def _connection_items(self, node: FieldNode, named: GraphQLObjectType, value: dict[str, Any]) -> int:
        node_type = _node_type(named)
        best = 0
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode):
                continue
            key = selection.alias.value if selection.alias else selection.name.value
            items = value.get(key) or []
            if selection.name.value == "nodes":
                cost = sum(1 + self._actual(selection.selection_set, node_type, item) for item in items)
            elif selection.name.value == "edges":
                cost = 0
                for edge in items:
                    cost += 1
                    for inner in selection.selection_set.selections:
                        if isinstance(inner, FieldNode) and inner.name.value == "node":
                            inner_key = inner.alias.value if inner.alias else "node"
                            cost += self._actual(inner.selection_set, node_type, edge.get(inner_key))
            else:
                continue
            best = max(best, cost)
        return best
