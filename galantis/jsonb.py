"""JSON columns, written in bulk and read, with orjson where it gives the same values as json.

Writing (COPY rows, ``unnest`` arrays): jsonb keeps no formatting or key order, so any
valid encoding of a value stores the same value: orjson's is ~10x ``json.dumps`` on our
item data and product fields, which made JSON encoding a visible share of a million-row
write (import and feed profiles).

Reading: Django's ``JSONField`` parses every value with ``json.loads``; a push batch reads
each product's tags, images, videos and metafields and each variant's options, and that
parsing was ~8% of a full sync's CPU. :class:`JSONField` parses with orjson instead.
"""

from __future__ import annotations

import json
import re

import orjson
from django.db import models

# orjson reads an integer beyond 64 bits as a float (json keeps it exact): any run of 19
# digits sends the text to json instead (a long digit string inside a text value does too,
# which costs time, never a different value).
_LONG_NUMBER = re.compile(r"[0-9]{19}")


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


def jsonb_value(text: str):
    """The value of JSON ``text``, exactly as ``json.loads`` reads it; raises ``json.JSONDecodeError``."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate: json reads them, or raises its own error
    return json.loads(text)


class JSONField(models.JSONField):
    """Django's ``JSONField``, whose values are parsed by :func:`jsonb_value`.

    It deconstructs as Django's own field: the columns, and so the migrations, are the same.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or self.decoder is not None or not isinstance(value, str):
            return super().from_db_value(value, expression, connection)
        try:
            return jsonb_value(value)
        except json.JSONDecodeError:
            return value  # as Django does: text that is not JSON is returned as it is

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
