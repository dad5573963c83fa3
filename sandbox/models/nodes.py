"""Graph node ids: every sandbox object is addressable as ``/{id}`` like a Meta FBID.

An FBID is the node kind (two digits) followed by the row's primary key padded to
13 digits, so ``GET /{id}`` finds the table without a lookup table and bulk inserts
need no extra id allocation. The result looks like Meta's 15-digit ids.
"""

from __future__ import annotations

from enum import IntEnum

from django.db import models

PK_DIGITS = 13


class Kind(IntEnum):
    APP = 10
    BUSINESS = 11
    SYSTEM_USER = 12
    CATALOG = 13
    ITEM = 14
    PRODUCT_GROUP = 15
    FEED = 16
    UPLOAD = 17
    UPLOAD_ERROR = 18
    PRODUCT_SET = 19
    PIXEL = 20
    COMMERCE_SETTINGS = 21


def to_fbid(kind: Kind, pk: int) -> str:
    """The FBID of row ``pk`` of a node kind."""
    return f"{int(kind)}{pk:0{PK_DIGITS}d}"


def parse_fbid(value: str) -> tuple[Kind, int] | None:
    """Split an FBID into (kind, pk); None when it is not one of ours."""
    value = str(value or "")
    if len(value) != 2 + PK_DIGITS or not value.isdigit():
        return None
    try:
        kind = Kind(int(value[:2]))
    except ValueError:
        return None
    pk = int(value[2:])
    return (kind, pk) if pk > 0 else None


class GraphNode(models.Model):
    """Abstract base: a row that is also a Graph API node with an FBID."""

    KIND: Kind

    class Meta:
        abstract = True

    @property
    def fbid(self) -> str:
        return to_fbid(self.KIND, self.pk)

    @classmethod
    def pk_from_fbid(cls, value: str) -> int | None:
        """The primary key behind an FBID of this model's kind, else None."""
        parsed = parse_fbid(value)
        if parsed is None or parsed[0] != cls.KIND:
            return None
        return parsed[1]
