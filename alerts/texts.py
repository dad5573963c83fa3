"""Alert texts kept as their English message ids and values, rendered in the reader's language.

An alert is found by a task, where no language is active, but read on the health page in the
merchant's language and e-mailed in another. So a condition's title, message and fix label
are stored as *texts*: a message id marked with ``gettext_noop`` and its values (issue 18
part 5). :func:`render` translates one when it is shown or sent; :func:`english` gives the
English kept in ``Alert.title``/``message`` (the admin's list, the log, older rows).

A text is JSON (it lives in ``Alert.texts``):

- ``{"msgid": "...", "params": {...}}``: translated with gettext, then ``%``-formatted;
  ``"lower": true`` lower-cases the result (a choice label inside a sentence);
- ``{"raw": "..."}``: shown as stored (a catalog name, Meta's own reason);
- ``{"join": " ", "parts": [...]}``: texts joined by a separator.

A value is a string (as is), an int (grouped the reader's way: 1,234 or 1 234), a
``{"date"|"datetime": iso, "format": ...}`` (Django date format, month names translated) or
another text. Counts choose their message id when the alert is found (``"%(n)s items"`` or
``"1 item"``): alert counts are never 0, and English and French agree on every other count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import formats, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

Text = dict[str, Any]


def t(msgid: str, **params: Any) -> Text:
    """A message id (marked with gettext_noop by the caller) and its values."""
    return {"msgid": msgid, "params": params} if params else {"msgid": msgid}


def label(choice_label: Any, *, lower: bool = False) -> Text:
    """A choice's label (a lazy gettext string) by its English message id."""
    with translation.override("en"):
        msgid = str(choice_label)
    return {"msgid": msgid, "lower": True} if lower else {"msgid": msgid}


def raw(text: str) -> Text:
    """Text shown as stored, never translated."""
    return {"raw": text}


def join(parts: list[Text], sep: str = " ") -> Text:
    return {"join": sep, "parts": parts}


def when(value: date | datetime, fmt: str) -> dict:
    """A date or (local) date-time value shown with a Django date format in the reader's language."""
    key = "datetime" if isinstance(value, datetime) else "date"
    return {key: value.isoformat(), "format": fmt}


def _value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return formats.number_format(value, force_grouping=True)
    if isinstance(value, dict):
        if "datetime" in value:
            return formats.date_format(parse_datetime(value["datetime"]), value["format"])
        if "date" in value:
            return formats.date_format(parse_date(value["date"]), value["format"])
        return render(value)
    return value


def render(text: Text | str | None) -> str:
    """``text`` in the active language (a plain string is returned as is)."""
    if not text:
        return ""
    if isinstance(text, str):
        return text
    if "raw" in text:
        return text["raw"]
    if "parts" in text:
        return text.get("join", " ").join(render(p) for p in text["parts"])
    out = gettext(text["msgid"])
    params = text.get("params")
    if params:
        out = out % {key: _value(v) for key, v in params.items()}
    return out.lower() if text.get("lower") else out


def english(text: Text | str | None) -> str:
    """``text`` in English, as the message ids were written."""
    with translation.override("en"):
        return render(text)
