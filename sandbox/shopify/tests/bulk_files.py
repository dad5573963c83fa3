"""Bulk-operation JSONL files shaped as Shopify writes them, for loader and importer tests.

Shopify's default (``groupObjects: false``) only promises that a child line comes after its
parent's line: children land anywhere after it, interleaved with other products and theirs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.shopify import generator


def generated_objects(variants: int, *, seed: int = 5) -> list[dict[str, Any]]:
    """The lines (as objects) of a generated export, grouped as the sandbox writes it."""
    objects: list[dict[str, Any]] = []
    for product in generator.count_variants_products(variants, seed=seed):
        objects.extend(generator.product_jsonl_objects(product, "https://sandbox-store.example"))
    return objects


def ungroup(objects: Iterable[dict[str, Any]], *, seed: int = 1, stay: float = 0.3) -> list[dict[str, Any]]:
    """Reorder lines as an ungrouped export may: parents in their order, each child anywhere after
    its parent. `stay` is the chance to emit a waiting child rather than the next parent (low:
    children drift far from their parents)."""
    rng = random.Random(seed)
    roots: list[dict[str, Any]] = []
    children_of: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        parent = obj.get("__parentId")
        if parent is None:
            roots.append(obj)
        else:
            children_of.setdefault(parent, []).append(obj)
    out: list[dict[str, Any]] = []
    # Children whose parent is not in the file (orphans) may come anywhere.
    known = {o.get("id") for o in roots} | {c.get("id") for group in children_of.values() for c in group}
    waiting = [c for parent in [p for p in children_of if p not in known] for c in children_of.pop(parent)]

    def emit(obj: dict[str, Any]) -> None:
        out.append(obj)
        waiting.extend(children_of.pop(obj.get("id"), []))

    next_root = 0
    while next_root < len(roots) or waiting:
        if waiting and (next_root >= len(roots) or rng.random() < stay):
            emit(waiting.pop(rng.randrange(len(waiting))))
        else:
            emit(roots[next_root])
            next_root += 1
    assert not children_of, f"children without a parent line: {list(children_of)[:3]}"
    return out


def far_apart(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The extreme ungrouped order: every parent line first, then every child, last parent's first."""
    objects = list(objects)
    roots = [o for o in objects if o.get("__parentId") is None]
    children = [o for o in objects if o.get("__parentId") is not None]
    return roots + children[::-1]


def write(path: Path, objects: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for obj in objects:
            out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def variants_by_product(objects: Iterable[dict[str, Any]]) -> dict[int, set[int]]:
    """{product id: {variant ids}} as the file holds them."""
    out: dict[int, set[int]] = {}
    for obj in objects:
        if obj.get("__parentId") is None and "/Product/" in obj.get("id", ""):
            out.setdefault(int(obj["id"].rsplit("/", 1)[1]), set())
        elif "/ProductVariant/" in obj.get("id", ""):
            out.setdefault(int(obj["__parentId"].rsplit("/", 1)[1]), set()).add(int(obj["id"].rsplit("/", 1)[1]))
    return out
