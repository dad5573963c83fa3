"""The WhatsApp Cloud API interactive messages that show catalog items, built as JSON (never sent).

Three kinds, each the whole body of ``POST /{phone_number_id}/messages``:

* ``product`` — one item: ``action {catalog_id, product_retailer_id}``, optional body and
  footer, no header;
* ``product_list`` — several items: a text header and a body are required, ``action
  {catalog_id, sections: [{title, product_items: [{product_retailer_id}]}]}``;
* ``catalog_message`` — the whole catalog: a body, ``action {name: "catalog_message",
  parameters: {thumbnail_product_retailer_id}}`` (the catalog is the one linked to the
  WhatsApp account, so no ``catalog_id``).

Limits, as ``docs/graph-api.md`` §9 and Meta's WhatsApp documentation
state them: 1 to 10 sections, at most 30 items in all and at least one per section, a
section title of at most 24 characters, header text 60, body 1,024, footer 60. Items are
named by ``product_retailer_id``: the item's id in the catalog, not Meta's FBID
(``Variant.message_retailer_id``). An item that is not ready (``readiness``) is refused
with its reasons; a message that breaks a limit is not built, and says which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.text import Truncator

from catalog.models import Catalog, ProductSet, Variant

from . import readiness as rd

MAX_SECTIONS = 10  # sections of a multi-product message
MAX_ITEMS = 30  # items across all sections of a multi-product message
SECTION_TITLE_MAX = 24
HEADER_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
# E.164: a country code and subscriber number of at most 15 digits in all.
PHONE_DIGITS = re.compile(r"^[1-9]\d{6,14}$")
# ``to`` left for the sender to fill in (the admin page, before a recipient is typed).
RECIPIENT_PLACEHOLDER = "<RECIPIENT_PHONE_NUMBER>"

PRODUCT = "product"
PRODUCT_LIST = "product_list"
CATALOG_MESSAGE = "catalog_message"


@dataclass(frozen=True)
class Refused:
    """An item left out of the message, and why (the merchant's words)."""

    retailer_id: str
    label: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """A built message: ``payload`` to post, or None with the ``problems`` that stopped it."""

    kind: str
    payload: dict | None
    refused: tuple[Refused, ...] = ()
    problems: tuple[str, ...] = ()
    # Ready items a product set has beyond what one message holds.
    left_out: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.payload is not None

    @property
    def retailer_ids(self) -> list[str]:
        """The items the message shows, in order."""
        if not self.payload:
            return []
        action = self.payload["interactive"]["action"]
        if "product_retailer_id" in action:
            return [action["product_retailer_id"]]
        if "sections" in action:
            return [i["product_retailer_id"] for s in action["sections"] for i in s["product_items"]]
        return [action["parameters"]["thumbnail_product_retailer_id"]]

    def as_json(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False) if self.payload else ""


def recipient(to: str | None) -> tuple[str, str]:
    """(the ``to`` value, "" or what is wrong with it): digits of an international number, ``+`` optional."""
    if to is None:
        return RECIPIENT_PLACEHOLDER, ""
    digits = re.sub(r"[\s().-]", "", to).removeprefix("+")
    if not PHONE_DIGITS.match(digits):
        return to, f"The recipient {to!r} is not a phone number with its country code (e.g. +16505551234)."
    return digits, ""


def _text_problems(
    *, header: str | None, body: str | None, footer: str | None, header_required: bool, body_required: bool
) -> list[str]:
    problems = []
    for name, value, limit, required in (
        ("header", header, HEADER_MAX, header_required),
        ("body", body, BODY_MAX, body_required),
        ("footer", footer, FOOTER_MAX, False),
    ):
        if required and not (value or "").strip():
            problems.append(f"The {name} text is required.")
        elif value and len(value) > limit:
            problems.append(f"The {name} text is {len(value)} characters long; WhatsApp allows at most {limit}.")
    return problems


def _envelope(to: str, interactive: dict) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": interactive,
    }


def _texts(interactive: dict, *, header: str | None = None, body: str | None = None, footer: str | None = None) -> dict:
    """Header, body and footer in the order Meta's examples give them; empty ones left out."""
    out = {"type": interactive.pop("type")}
    if header and header.strip():
        out["header"] = {"type": "text", "text": header.strip()}
    if body and body.strip():
        out["body"] = {"text": body.strip()}
    if footer and footer.strip():
        out["footer"] = {"text": footer.strip()}
    out.update(interactive)
    return out


def _refused(entries: Sequence[rd.Readiness]) -> tuple[Refused, ...]:
    return tuple(Refused(e.retailer_id, e.label, e.reasons) for e in entries)


def product_message(variant: Variant, *, to: str | None, body: str = "", footer: str = "") -> Built:
    """A single-product message showing ``variant``, or why it cannot be built."""
    entry = rd.readiness(variant)
    to_value, to_problem = recipient(to)
    problems = [to_problem] if to_problem else []
    problems += _text_problems(header=None, body=body, footer=footer, header_required=False, body_required=False)
    if not entry.ready:
        problems.append("The item is not ready for WhatsApp.")
        return Built(PRODUCT, None, refused=_refused([entry]), problems=tuple(problems))
    if problems:
        return Built(PRODUCT, None, problems=tuple(problems))
    interactive = _texts(
        {
            "type": PRODUCT,
            "action": {"catalog_id": variant.catalog.meta_catalog_id, "product_retailer_id": entry.retailer_id},
        },
        body=body,
        footer=footer,
    )
    return Built(PRODUCT, _envelope(to_value, interactive))


@dataclass(frozen=True)
class Section:
    """A titled group of items of a multi-product message."""

    title: str
    variants: Sequence[Variant]


def product_list_message(
    sections: Sequence[Section], *, to: str | None, header: str, body: str, footer: str = ""
) -> Built:
    """A multi-product message of ``sections``; items not ready are refused, limits are enforced.

    The limits apply to what would be sent (ready items, sections that keep an item); a
    message over them is not built: choose fewer items or sections.
    """
    to_value, to_problem = recipient(to)
    problems = [to_problem] if to_problem else []
    problems += _text_problems(header=header, body=body, footer=footer, header_required=True, body_required=True)
    refused: list[rd.Readiness] = []
    kept: list[tuple[str, list[rd.Readiness]]] = []
    seen: set[str] = set()
    catalog_ids: list[str] = []
    for section in sections:
        title = (section.title or "").strip()
        ready = []
        for entry in rd.readiness_of(section.variants):
            if not entry.ready:
                refused.append(entry)
                continue
            catalog_id = entry.variant.catalog.meta_catalog_id
            if catalog_ids and catalog_id != catalog_ids[0]:
                refused.append(
                    rd.Readiness(
                        entry.variant,
                        (
                            f"It is in another catalog ({catalog_id}) than the message's ({catalog_ids[0]}); "
                            "one message shows one catalog.",
                        ),
                    )
                )
                continue
            catalog_ids.append(catalog_id)
            if entry.retailer_id not in seen:  # the same item twice would be shown twice
                seen.add(entry.retailer_id)
                ready.append(entry)
        if not title:
            problems.append("Every section needs a title.")
        elif len(title) > SECTION_TITLE_MAX:
            problems.append(
                f"The section title {title!r} is {len(title)} characters long; "
                f"WhatsApp allows at most {SECTION_TITLE_MAX}."
            )
        if ready:
            kept.append((title, ready))
    count = sum(len(entries) for _, entries in kept)
    if not kept:
        problems.append("No chosen item is ready for WhatsApp.")
    if len(kept) > MAX_SECTIONS:
        problems.append(f"A multi-product message has at most {MAX_SECTIONS} sections; this one has {len(kept)}.")
    if count > MAX_ITEMS:
        problems.append(f"A multi-product message shows at most {MAX_ITEMS} items; {count} are ready. Choose fewer.")
    if problems:
        return Built(PRODUCT_LIST, None, refused=_refused(refused), problems=tuple(dict.fromkeys(problems)))
    interactive = _texts(
        {
            "type": PRODUCT_LIST,
            "action": {
                "catalog_id": catalog_ids[0],
                "sections": [
                    {"title": title, "product_items": [{"product_retailer_id": e.retailer_id} for e in entries]}
                    for title, entries in kept
                ],
            },
        },
        header=header,
        body=body,
        footer=footer,
    )
    return Built(PRODUCT_LIST, _envelope(to_value, interactive), refused=_refused(refused))


def catalog_message(
    catalog: Catalog, *, to: str | None, body: str, footer: str = "", thumbnail: Variant | None = None
) -> Built:
    """A catalog message for ``catalog``; the thumbnail is ``thumbnail`` or its first ready item."""
    to_value, to_problem = recipient(to)
    problems = [to_problem] if to_problem else []
    problems += _text_problems(header=None, body=body, footer=footer, header_required=False, body_required=True)
    refused: tuple[Refused, ...] = ()
    if thumbnail is not None:
        entry = rd.readiness(thumbnail)
        if thumbnail.catalog_id != catalog.pk:
            entry = rd.Readiness(thumbnail, ("It is not in this catalog.",))
        if not entry.ready:
            refused = _refused([entry])
            problems.append("The thumbnail item is not ready for WhatsApp.")
    else:
        thumbnail = rd.catalog_thumbnail(catalog)
        if thumbnail is None:
            problems.append("No item of the catalog is ready for WhatsApp, so there is no thumbnail to show.")
    if problems:
        return Built(CATALOG_MESSAGE, None, refused=refused, problems=tuple(problems))
    interactive = _texts(
        {
            "type": CATALOG_MESSAGE,
            "action": {
                "name": CATALOG_MESSAGE,
                "parameters": {"thumbnail_product_retailer_id": thumbnail.message_retailer_id},
            },
        },
        body=body,
        footer=footer,
    )
    return Built(CATALOG_MESSAGE, _envelope(to_value, interactive))


# --- From a product set -------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    return Truncator(text.strip()).chars(limit)


def default_texts(product_set: ProductSet) -> dict[str, str]:
    """Header, body and section title for a set's message when staff give none (within the limits)."""
    return {
        "header": _short(product_set.name, HEADER_MAX),
        "body": _short(
            f"Have a look at {product_set.name.strip()}: tap an item to see it, add it to your cart "
            "and send us your order.",
            BODY_MAX,
        ),
        "section_title": _short(product_set.name, SECTION_TITLE_MAX),
    }


def message_for_product_set(
    product_set: ProductSet,
    *,
    to: str | None,
    kind: str = PRODUCT_LIST,
    header: str | None = None,
    body: str | None = None,
    footer: str = "",
    section_title: str | None = None,
    summary: rd.SetReadiness | None = None,
) -> Built:
    """A message showing a product set: its first ready items (at most 30), refusing the others.

    Texts left as None take :func:`default_texts` (shortened to the limits); texts staff
    typed are checked against the limits, never cut. The set's not-ready items are
    refused with their reasons (the first ``readiness.NOT_READY_SHOWN``); ready items
    beyond the 30 a message holds are counted in ``left_out``. ``summary``: the set's
    readiness, when the caller has it already.
    """
    defaults = default_texts(product_set)
    header = defaults["header"] if header is None else header
    body = defaults["body"] if body is None else body
    section_title = defaults["section_title"] if section_title is None else section_title
    summary = summary or rd.set_readiness(product_set)
    refused = _refused(summary.not_ready)
    if summary.messages[kind]:
        return Built(kind, None, refused=refused, problems=(summary.messages[kind],))
    variants, _ = rd.variants_of_set(product_set)
    limit = 1 if kind in (PRODUCT, CATALOG_MESSAGE) else MAX_ITEMS
    chosen = list(rd.with_relations(rd.ready_variants(variants)).order_by("product_id", "position", "pk")[:limit])
    left_out = summary.ready - len(chosen)
    if kind == PRODUCT:
        built = product_message(chosen[0], to=to, body=body, footer=footer)
    elif kind == CATALOG_MESSAGE:
        built = catalog_message(product_set.catalog, to=to, body=body, footer=footer, thumbnail=chosen[0])
    else:
        built = product_list_message([Section(section_title, chosen)], to=to, header=header, body=body, footer=footer)
    notes = []
    if summary.not_ready_count > len(refused):
        notes.append(f"{summary.not_ready_count} items are not ready; the first {len(refused)} are listed.")
    if left_out:
        notes.append(f"{left_out} more ready items are left out: one message shows at most {limit}.")
    return Built(
        built.kind,
        built.payload,
        refused=refused + built.refused,
        problems=built.problems,
        left_out=left_out,
        notes=tuple(notes),
    )


def message_for_variants(
    variants: Sequence[Variant],
    *,
    to: str | None,
    kind: str = PRODUCT_LIST,
    header: str = "",
    body: str = "",
    footer: str = "",
    section_title: str = "",
) -> Built:
    """A message showing chosen variants: one section (``product_list``), the first (``product``) or the catalog."""
    if not variants:
        return Built(kind, None, problems=("Choose at least one item.",))
    if kind == PRODUCT:
        if len(variants) > 1:
            return Built(
                kind, None, problems=(f"A single-product message shows one item; {len(variants)} were chosen.",)
            )
        return product_message(variants[0], to=to, body=body, footer=footer)
    if kind == CATALOG_MESSAGE:
        first = variants[0]
        if first.catalog_id is None:
            return Built(kind, None, refused=_refused([rd.readiness(first)]), problems=(rd.NO_CATALOG,))
        return catalog_message(first.catalog, to=to, body=body, footer=footer, thumbnail=first)
    return product_list_message([Section(section_title, variants)], to=to, header=header, body=body, footer=footer)
