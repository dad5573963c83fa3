"""Shopify description HTML -> Meta's ``rich_text_description`` (an HTML subset).

Meta shows ``rich_text_description`` instead of the plain ``description`` on the product
page and recommends it when the description is longer than 200 characters
(docs/meta-ingestion-rules.md, "Fields that make the most impact").
It accepts a subset of HTML: formatting and structure only. Shopify's HTML carries what
Meta does not take (``<script>``, ``<style>``, ``<iframe>``, images, tables, inline
styles, classes, event handlers, links to other sites), so the HTML is sanitised to that
subset with nh3 (the Rust ``ammonia`` sanitiser: a real HTML5 parser that also closes
unbalanced tags, which regular expressions cannot do). Sanitising never fails an item:
what cannot be kept is dropped, and an item whose rich text would be empty or too long
gets none (its plain ``description`` is always sent).

Runs once per product (``catalog.items.product_fields``), never per variant.
"""

from __future__ import annotations

import re

import nh3

# Formatting and structure only. Links (<a>) are left out on purpose: Meta flags product
# descriptions that send buyers off-platform (PROPERTY_VALUE_DESCRIPTION_CONTAINS_OFF_PLATFORM_LINK);
# the link text is kept. No attributes at all: style, class, id and on* handlers are dropped.
ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "div",
        "span",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "strike",
        "del",
        "ins",
        "mark",
        "small",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "code",
        "hr",
    }
)
# Tags whose content is no description text at all: removed with what they hold.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "noscript", "template", "svg", "math", "object"})
# Meta's limit for rich_text_description (docs/graph-api.md §4).
RICH_TEXT_MAX = 9999
# Send rich text when the description is over 200 characters
# (docs/meta-ingestion-rules.md, "Fields that make the most impact").
RICH_TEXT_FROM_LENGTH = 200

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={},
    link_rel=None,
    strip_comments=True,
)
_TAG = re.compile(r"<[^>]*>")
_BLANK_BLOCK = re.compile(r"<(p|div|span|li|h[1-6])>\s*(?:&nbsp;|\s|<br>)*</\1>")
_SPACE_RUN = re.compile(r"\s{2,}")


def sanitise(description_html: str) -> str:
    """The description's HTML reduced to Meta's rich-text subset ("" when nothing is left)."""
    cleaned = _CLEANER.clean(description_html or "")
    # Empty paragraphs Shopify's editor leaves behind would show as blank lines.
    cleaned = _BLANK_BLOCK.sub("", cleaned)
    cleaned = _SPACE_RUN.sub(" ", cleaned).strip()
    if not _TAG.sub("", cleaned).strip():
        return ""
    return cleaned


def _cut(source: str, target: int) -> str:
    """``source`` cut before ``target``: never inside a tag, preferably between words."""
    opening, closing = source.rfind("<", 0, target), source.rfind(">", 0, target)
    if opening > closing:
        return source[:opening]
    space = source.rfind(" ", closing + 1, target)
    return source[: space if space > 0 else target]


def rich_text_description(description_html: str, plain_description: str) -> str:
    """``rich_text_description`` for a product, or "" when it should have none.

    Only when the plain description is longer than 200 characters (shorter ones gain
    nothing from formatting) and the HTML has some markup left after sanitising.
    Too long for Meta: the HTML is cut (never inside a tag, between words where it can)
    and sanitised again, which closes what the cut left open; a few times at most,
    failing that no rich text.
    """
    if len(plain_description) <= RICH_TEXT_FROM_LENGTH or "<" not in (description_html or ""):
        return ""
    source = description_html
    for _ in range(4):
        cleaned = sanitise(source)
        if len(cleaned) <= RICH_TEXT_MAX:
            return cleaned if "<" in cleaned else ""
        source = _cut(source, int(len(source) * RICH_TEXT_MAX / len(cleaned) * 0.9))
        if not source:
            return ""
    return ""
