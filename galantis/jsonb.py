"""JSON text for jsonb columns written in bulk (COPY rows, ``unnest`` arrays).

jsonb keeps no formatting or key order, so any valid encoding of a value stores the same
value: orjson's is ~10x ``json.dumps`` on our item data and product fields, which made
JSON encoding a visible share of a million-row write (import and feed profiles).
"""

from __future__ import annotations

import json

import orjson


def jsonb_text(value, encoder: type[json.JSONEncoder] | None = None) -> str:
    """``value`` as JSON text; a field's custom encoder, and what orjson refuses, go through json.

    orjson refuses ints beyond 64 bits and non-string keys (json turns those into strings),
    and writes NaN as null where json writes ``NaN``, which jsonb would reject anyway.
    """
    if encoder is None:
        try:
            return orjson.dumps(value).decode()
        except TypeError:
            pass
    return json.dumps(value, cls=encoder)
