"""Resolver registry and the per-request context shared by every resolver."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode, SelectionSetNode

from ..models import Shop

Resolver = Callable[..., Any]
RESOLVERS: dict[tuple[str, str], Resolver] = {}


def resolves(type_name: str, *field_names: str) -> Callable[[Resolver], Resolver]:
    """Register a function as the resolver of `Type.field` (for each field name given)."""

    def decorator(fn: Resolver) -> Resolver:
        for name in field_names:
            RESOLVERS[(type_name, name)] = fn
        return fn

    return decorator


@dataclass
class Context:
    """What resolvers need to know about the request."""

    shop: Shop
    api_version: str
    base_url: str = ""
    # Inside a bulk operation connections have no page size and no cost.
    bulk: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def version_key(self) -> str:
        """Comparable version (``unstable`` sorts after every dated version)."""
        return "9999-99" if self.api_version == "unstable" else self.api_version


def default_field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Registered resolver for `Type.field`, else the dict key / attribute of the same name."""
    fn = RESOLVERS.get((info.parent_type.name, info.field_name))
    if fn is not None:
        return fn(source, info, **args)
    if isinstance(source, dict):
        return source.get(info.field_name)
    return getattr(source, info.field_name, None)


def selected_names(info: GraphQLResolveInfo) -> set[str]:
    """Every field name selected anywhere below the current field (fragments included)."""
    names: set[str] = set()

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
                walk(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    for node in info.field_nodes:
        walk(node.selection_set)
    return names
