"""Load the error taxonomy, look types up by code, and keep Meta's own texts current."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import error_catalog
from .models import ErrorType, Priority

logger = logging.getLogger(__name__)

# Fields of ours that a (re)load overwrites; Meta's texts (meta_*) are left alone.
OWN_FIELDS = [
    "source",
    "category",
    "priority",
    "title",
    "description",
    "fix",
    "fix_location",
    "help_url",
    "known",
    "updated_at",
]
_PRIORITIES = frozenset(Priority.values)


def load_error_taxonomy() -> int:
    """Create or update every shipped error type (SDK enum plus our own types); return how many.

    Idempotent: one bulk upsert on ``code``. Meta's texts gathered so far are kept.
    """
    now = timezone.now()
    rows = [
        # A definition's fields are the error type's own (error_catalog.ErrorDefinition).
        ErrorType(**asdict(d), known=True, created_at=now, updated_at=now)
        for d in error_catalog.all_definitions()
    ]
    ErrorType.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["code"], update_fields=OWN_FIELDS
    )
    return len(rows)


def normalise_priority(value: object, default: str = Priority.MEDIUM) -> str:
    """Meta's ``error_priority`` (any case) or ``default`` when absent or unknown."""
    text = str(value or "").strip().upper()
    return text if text in _PRIORITIES else default


def normalise_code(value: object) -> str:
    """An error type code as stored (upper case, max 100 chars); ``""`` when absent."""
    return re.sub(r"[^A-Z0-9_]+", "_", str(value or "").strip().upper()).strip("_")[:100]


class ErrorTypeCache:
    """Error types by code for one run: each code costs at most one query, unknown codes are created.

    Unknown codes from Meta are never dropped: they are stored with Meta's own title and
    description so the merchant sees Meta's text until we write our own.
    """

    def __init__(self, preload: bool = False) -> None:
        self._by_code: dict[str, ErrorType] = {}
        if preload:
            self._by_code = {et.code: et for et in ErrorType.objects.all()}

    def get(
        self,
        code: str,
        *,
        title: str = "",
        description: str = "",
        priority: str = "",
        source: str = ErrorType.Source.META,
    ) -> ErrorType:
        code = normalise_code(code) or error_catalog.UNKNOWN_META_ERROR
        cached = self._by_code.get(code)
        if cached is None:
            cached = self._by_code[code] = error_type_for(
                code, title=title, description=description, priority=priority, source=source
            )
        return cached

    def prime(self, codes: Iterable[str]) -> None:
        """Load many codes in one query (types that exist; the rest are created on ``get``)."""
        missing = {normalise_code(c) for c in codes} - self._by_code.keys()
        if missing:
            self._by_code.update({et.code: et for et in ErrorType.objects.filter(code__in=missing)})


def error_type_for(
    code: str, *, title: str = "", description: str = "", priority: str = "", source: str = ErrorType.Source.META
) -> ErrorType:
    """The error type ``code``, created from Meta's text when we have never seen it."""
    code = normalise_code(code) or error_catalog.UNKNOWN_META_ERROR
    existing = ErrorType.objects.filter(code=code).first()
    if existing is not None:
        return existing
    defaults = {
        "source": source,
        "category": "unlisted",
        "priority": normalise_priority(priority),
        "fix_location": ErrorType.FixLocation.META_HELP,
        "help_url": error_catalog.HELP_COMMERCE_MANAGER,
        "meta_title": title[:500],
        "meta_description": description,
        "meta_updated_at": timezone.now() if (title or description) else None,
    }
    try:
        with transaction.atomic():
            created = ErrorType.objects.create(code=code, **defaults)
    except IntegrityError:  # another worker created it meanwhile
        return ErrorType.objects.get(code=code)
    logger.info("new error type %s stored with Meta's text", code)
    return created


def update_meta_texts(texts: Mapping[str, Mapping[str, str]]) -> int:
    """Store Meta's latest title / description / call to action per code; return rows changed.

    ``texts`` maps a code to ``{"title", "description", "call_to_action"}`` as Meta
    sent them (item ``errors``, the ``diagnostics`` edge). Only changed rows are written.
    """
    if not texts:
        return 0
    now = timezone.now()
    changed = []
    for et in ErrorType.objects.filter(code__in=[normalise_code(c) for c in texts]):
        new = texts.get(et.code) or {}
        title = (new.get("title") or et.meta_title)[:500]
        description = new.get("description") or et.meta_description
        cta = new.get("call_to_action") or et.meta_call_to_action
        if (title, description, cta) != (et.meta_title, et.meta_description, et.meta_call_to_action):
            et.meta_title, et.meta_description, et.meta_call_to_action = title, description, cta
            et.meta_updated_at = et.updated_at = now
            changed.append(et)
    if changed:
        ErrorType.objects.bulk_update(
            changed,
            ["meta_title", "meta_description", "meta_call_to_action", "meta_updated_at", "updated_at"],
            batch_size=500,
        )
    return len(changed)


# Meta's batch / feed messages carry no type; their wording tells the kind. First match wins.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), code)
    for pattern, code in (
        (r"duplicate retailer_id .*product group", "RETAILER_ID_USED_BY_GROUP"),
        (r"sale.?price", "INVALID_SALE_PRICE"),
        (r"price.*(positive|greater than zero|zero|negative)", "ITEM_PRICE_NOT_POSITIVE"),
        (r"image", "INVALID_IMAGES"),
        (r"required field is missing|missing (a )?required", "PROPERTY_VALUE_MISSING"),
        (r"too long|exceeds|maximum length", "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH"),
        (r"incorrectly formatted|invalid value|not a valid|format", "PROPERTY_VALUE_FORMAT"),
        (r"currency", "PROPERTY_PRICE_CURRENCY_NOT_SUPPORTED"),
    )
)
_CODE_IN_TEXT = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")


def classify_message(
    message: str,
    hint: str = "",
    *,
    known_codes: frozenset[str] | None = None,
    fallback: str = error_catalog.BATCH_ITEM_REJECTED,
) -> str:
    """The error type code for a batch / feed message without a type of its own.

    A known code in ``hint`` (e.g. ``Variant.last_error_code``) or in the message wins;
    then the message's wording; then ``fallback``.
    """
    known = known_codes if known_codes is not None else sdk_codes()
    for candidate in [*(h.strip() for h in (hint or "").split(",")), *_CODE_IN_TEXT.findall(message or "")]:
        if candidate in known:
            return candidate
    for pattern, code in _MESSAGE_PATTERNS:
        if pattern.search(message or ""):
            return code
    return fallback


_SDK_CODES: frozenset[str] | None = None


def sdk_codes() -> frozenset[str]:
    """The SDK's ErrorType values (cached for the process)."""
    global _SDK_CODES
    if _SDK_CODES is None:
        _SDK_CODES = frozenset(error_catalog.sdk_error_types())
    return _SDK_CODES
