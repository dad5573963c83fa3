"""The one writer of a variant's sync state and of Meta's verdict on it.

Two statuses live on a variant and are never confused (ARCHITECTURE, "Rules the code keeps"):

* **push status** — ``meta_status`` PENDING / SYNCED / FAILED: did Meta accept exactly
  this payload (``synced_hash``), with ``failure_source``, ``last_error`` and
  ``last_error_fix`` when it cannot be live;
* **Meta's verdict** — ``review_status``, ``review_rejection_reasons``, ``visibility``,
  ``image_fetch_status``, ``channel_review`` as Meta last said them, and the ``verdict``
  derived from them (LIVE / NOT_VISIBLE / IN_REVIEW) for SYNCED variants.

Every module that changes those fields calls a function here; a test
(``catalog/tests/test_item_state.py``) fails if any other module writes ``meta_status``.
Writes are bulk: a constant number of statements per call whatever the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import BigIntegerField, Case, CharField, Count, F, Q, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from catalog.bulk_values import update_by_pk
from catalog.sync.push_requests import request_pushes
from galantis.chunks import in_chunks

from . import items, timeline
from .models import Product, ShopifyStore, SyncBatch, Variant, VariantEvent
from .models.products import LOCALLY_FAILED_SHOWN_BY_META

Status = Variant.SyncStatus
Source = Variant.FailureSource
Verdict = Variant.Verdict
Event = VariantEvent.Kind

# The batch that refresh writes back; bounded so memory stays flat on a million variants.
REFRESH_BATCH = 2000
# Rows per UPDATE when writing per-row values (SQLite caps the parameters of one query).
WRITE_BATCH = 500
# How a claimed variant travels (``Variant.in_flight_method``).
UPSERT = ""
DELETE = "DELETE"
SKIP = "SKIP"  # kept out of Meta without a call: never created, or already gone
HIDE = "HIDE"  # locally invalid but Meta holds an older version: hidden (visibility staging), nothing else sent

UNCHANGED = Q(payload_hash=F("in_flight_hash"))
LOCALLY_FAILED = Q(meta_status=Status.FAILED, failure_source=Source.LOCAL)
# Meta rejected exactly this version and holds no version of the item: sending it again
# (in every hourly replace feed, say) would only be rejected again. Held until the data
# changes (a new payload hash) or staff retry it (``retry_meta_failures``).
HELD = Q(
    meta_status=Status.FAILED,
    failure_source__in=(Source.META_BATCH, Source.META_FEED),
    failed_hash=F("payload_hash"),
    synced_hash="",
    meta_item_id="",
)
# In flight again with the very version Meta rejected, while Meta holds an older one (so a
# replace feed must list it: left out, that older version would be deleted). Its "Sent" and,
# when Meta rejects it again, its "Rejected by Meta" say nothing new: the timeline skips both.
RESENT_REJECTED = (
    Q(meta_status=Status.FAILED, failure_source__in=(Source.META_BATCH, Source.META_FEED), in_flight_method=UPSERT)
    & Q(failed_hash=F("in_flight_hash"))
    & ~Q(failed_hash="")
)
# Meta may hold a clearable optional field (catalog.items.CLEARABLE_FIELDS) that the current
# payload lacks: only the Batch API (which sends it empty) or a replace feed (which replaces the
# whole item) can clear it. An update-only feed row leaves it as it was ("no change").
LACKS_HELD_FIELD = ~Q(held_mask=F("held_mask").bitand(F("payload_mask")))
# What Meta may hold once a row in flight may have reached it (or not): both versions' fields.
HELD_OR_SENT = F("held_mask").bitor(F("in_flight_mask"))
HELD_CODE = "HELD_SAME_PAYLOAD"
HELD_MESSAGE = (
    "Meta rejected exactly this version of the item before, so Galantis holds it instead of sending it again."
)
HELD_FIX = (
    "Change the product in Shopify (or on the Galantis product page); or retry it from the admin if Meta's "
    "rule has changed."
)
META_FIX = (
    "Correct the field Meta names in Shopify (or on the Galantis product page for Meta-only fields); "
    "the next sync sends it again."
)
# A timeline message (translated when shown): gettext_noop marks it for makemessages.
KEPT_MESSAGE = gettext_noop(
    "An update-only upload cannot clear a field: Meta keeps a value this version no longer has, "
    "so the item is sent again by the Batch API or the next replace feed."
)
UNSAMPLED_MESSAGE = (
    "Meta rejected {n} row(s) of feed upload {upload} without naming them; this item may be one of them, "
    "so it is sent again through the Batch API, which reports every rejected item by id."
)

# --- Meta's verdict ------------------------------------------------------------------------------

REVIEW_LIVE = "approved"
REVIEW_REJECTED = "rejected"
REVIEW_WAITING = frozenset({"pending", "outdated", ""})
IMAGE_FAILED = frozenset({"FETCH_FAILED"})
CHANNEL_REJECTED = frozenset({"REJECTED"})
WHATSAPP = "whatsapp"


def verdict_for(review_status: str, visibility: str, image_fetch_status: str, channel_review: Mapping | None) -> str:
    """The verdict on an item Meta holds, from Meta's own fields.

    Rejected in review wins, then not visible (hidden, image Meta cannot fetch, WhatsApp
    capability rejected); then approved is live; anything else (pending,
    outdated, not read yet, or a review status Meta adds later) is in review.
    """
    review = (review_status or "").lower()
    channel_review = channel_review if isinstance(channel_review, Mapping) else {}
    if review == REVIEW_REJECTED:
        return Verdict.REJECTED
    if (
        (visibility or "").lower() in ("staging", "hidden")
        or (image_fetch_status or "").upper() in IMAGE_FAILED
        or str(channel_review.get(WHATSAPP, "")).upper() in CHANNEL_REJECTED
    ):
        return Verdict.NOT_VISIBLE
    if review == REVIEW_LIVE:
        return Verdict.LIVE
    return Verdict.IN_REVIEW


def not_visible_reason(variant: Variant) -> str:
    """Why a synced item is not visible, in the merchant's words ("" when it is)."""
    reasons = []
    review = (variant.review_status or "").lower()
    if review == REVIEW_REJECTED:
        why = ", ".join(str(r) for r in variant.review_rejection_reasons or []) or gettext("no reason given")
        reasons.append(gettext("Meta's review rejected it (%(reasons)s)") % {"reasons": why})
    if (variant.visibility or "").lower() in ("staging", "hidden"):
        reasons.append(gettext("it is hidden in Meta (visibility staging)"))
    if (variant.image_fetch_status or "").upper() in IMAGE_FAILED:
        reasons.append(gettext("Meta cannot fetch its image"))
    if str((variant.channel_review or {}).get(WHATSAPP, "")).upper() in CHANNEL_REJECTED:
        reasons.append(gettext("WhatsApp's review rejected it"))
    return "; ".join(reasons)


def review_label(review_status: str) -> str:
    """Meta's review status for display; a value we do not know is shown, never hidden."""
    known = {
        "approved": gettext("Approved"),
        "pending": gettext("Pending"),
        "outdated": gettext("Outdated"),
        "rejected": gettext("Rejected"),
    }
    if not review_status:
        return gettext("Not read yet")
    return known.get(review_status.lower(), gettext("unknown: %(status)s") % {"status": review_status})


@dataclass(frozen=True)
class ItemVerdict:
    """What Meta said of one item (``GET /{catalog}/products`` fields)."""

    retailer_id: str
    review_status: str = ""
    rejection_reasons: tuple = ()
    visibility: str = ""
    image_fetch_status: str = ""
    channel_review: tuple = ()  # ((channel, status), ...): hashable

    @classmethod
    def from_graph(cls, row: Mapping) -> ItemVerdict:
        capabilities = row.get("capability_to_review_status")
        pairs: list[tuple[str, str]] = []
        if isinstance(capabilities, Mapping):
            pairs = [(str(k).lower(), str(v)) for k, v in capabilities.items()]
        elif isinstance(capabilities, list):  # [{"capability": ..., "status": ...}] in some versions
            for entry in capabilities:
                if isinstance(entry, Mapping):
                    name = entry.get("capability") or entry.get("key") or entry.get("channel")
                    status = entry.get("status") or entry.get("value")
                    if name:
                        pairs.append((str(name).lower(), str(status or "")))
        reasons = row.get("review_rejection_reasons")
        return cls(
            retailer_id=str(row.get("retailer_id") or ""),
            review_status=str(row.get("review_status") or "")[:32],
            rejection_reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
            visibility=str(row.get("visibility") or "")[:16].lower(),
            image_fetch_status=str(row.get("image_fetch_status") or "")[:32],
            channel_review=tuple(sorted(pairs)),
        )

    @property
    def verdict(self) -> str:
        return verdict_for(self.review_status, self.visibility, self.image_fetch_status, dict(self.channel_review))


def record_verdicts(catalog_id: int, verdicts: Iterable[ItemVerdict], *, now=None) -> int:
    """Store Meta's verdict for the items it returned; return how many variants were written.

    Grouped by identical verdict: one UPDATE per distinct verdict (a page of 500 items
    has a handful). The derived ``verdict`` applies only to SYNCED variants: a variant
    edited while its verdict was read keeps Meta's fields (they describe the version
    Meta holds) but no verdict until its new payload is accepted.
    """
    now = now or timezone.now()
    groups: dict[ItemVerdict, list[str]] = defaultdict(list)
    for verdict in verdicts:
        if verdict.retailer_id:
            groups[ItemVerdict(**{**verdict.__dict__, "retailer_id": ""})].append(verdict.retailer_id)
    written = 0
    for verdict, retailer_ids in groups.items():
        for start in range(0, len(retailer_ids), WRITE_BATCH):
            chunk = retailer_ids[start : start + WRITE_BATCH]
            rows = Variant.objects.filter(catalog_id=catalog_id, retailer_id__in=chunk)
            _record_verdict_changes(rows, verdict, now)
            written += rows.update(
                review_status=verdict.review_status,
                review_rejection_reasons=list(verdict.rejection_reasons),
                visibility=verdict.visibility,
                image_fetch_status=verdict.image_fetch_status,
                channel_review=dict(verdict.channel_review),
                verdict=Case(
                    When(meta_status=Status.SYNCED, excluded=False, then=Value(verdict.verdict)),
                    default=Value(Verdict.NONE),
                ),
                verdict_checked_at=now,
            )
    return written


def _record_verdict_changes(rows: models.QuerySet[Variant], verdict: ItemVerdict, now) -> None:
    """Timeline: one event per variant whose verdict, review fields or WhatsApp capability this reading changes.

    Only changes are written (a poll that reads the same verdict again writes nothing),
    in one INSERT ... SELECT before the UPDATE, while the old values can still be compared.
    A change of the WhatsApp capability alone (pending to approved, a capability the merchant
    turned off) is its own kind: the verdict event would say nothing new.
    """
    synced = Q(meta_status=Status.SYNCED, excluded=False)
    new_verdict = Case(When(synced, then=Value(verdict.verdict)), default=Value(Verdict.NONE), output_field=CharField())
    whatsapp = dict(verdict.channel_review).get(WHATSAPP, "")
    same_verdict = Q(
        _new_verdict=F("verdict"),
        review_status=verdict.review_status,
        visibility=verdict.visibility,
        image_fetch_status=verdict.image_fetch_status,
    )
    changed = rows.alias(
        _new_verdict=new_verdict,
        _old_whatsapp=Coalesce(KeyTextTransform(WHATSAPP, "channel_review"), Value(""), output_field=CharField()),
    ).exclude(same_verdict & Q(_old_whatsapp=whatsapp))
    reasons = ", ".join(verdict.rejection_reasons)
    timeline.record_from(
        changed,
        Case(
            When(same_verdict, then=Value(Event.WHATSAPP)),
            When(synced, then=Value(timeline.kinds_for_verdict(verdict.verdict))),
            default=Value(Event.REVIEW),
            output_field=CharField(),
        ),
        at=now,
        message=Case(
            When(
                same_verdict,
                then=Concat(
                    Value("WhatsApp was "),
                    Case(When(_old_whatsapp="", then=Value("not reported")), default=F("_old_whatsapp")),
                    output_field=CharField(),
                ),
            ),
            default=Value(reasons),
            output_field=CharField(),
        ),
        detail={
            "review_status": verdict.review_status,
            "visibility": verdict.visibility,
            "image": verdict.image_fetch_status,
            "whatsapp": whatsapp,
        },
    )


def mark_missing_in_meta(catalog_id: int, retailer_ids: Sequence[str], *, now=None) -> int:
    """Items we had accepted that Meta no longer holds: PENDING again, so the next push recreates them."""
    now = now or timezone.now()
    done = 0
    for start in range(0, len(retailer_ids), WRITE_BATCH):
        rows = Variant.objects.filter(
            catalog_id=catalog_id,
            retailer_id__in=retailer_ids[start : start + WRITE_BATCH],
            meta_status=Status.SYNCED,
            excluded=False,
            in_flight_batch__isnull=True,
        )
        timeline.record_from(
            rows, Event.QUEUED, at=now, message=gettext_noop("Meta no longer holds the item: it is sent again.")
        )
        done += rows.update(
            meta_status=Status.PENDING,
            synced_hash="",
            held_mask=0,
            meta_item_id="",
            verdict=Verdict.NONE,
            review_status="",
            visibility="",
            verdict_checked_at=now,
            updated_at=now,
            created_via=Variant.CreatedVia.NONE,
            in_replace_feed_at=None,
        )
    return done


# --- Refresh: Shopify data -> payload hash and push status ---------------------------------------


def refresh_variant(
    variant: Variant, product: Product, store: ShopifyStore, fields: items.ProductFields | None = None
) -> bool:
    """Recompute the payload hash and status of one variant in memory; True if anything changed.

    Unchanged data changes nothing (a re-import marks nothing PENDING). A changed
    payload becomes PENDING, or FAILED at once when it cannot pass Meta's rules, or
    SYNCED again when it went back to exactly what Meta already has. A variant not to be
    live in Meta (draft, archived, unpublished, excluded, removed) is never FAILED for its
    data: it is counted as excluded, and the push hides it in Meta if Meta has it.
    ``fields``: the product's part of the item, when the caller computed it once.
    """
    if fields is None:
        fields = items.product_fields(product, store)
    item = items.meta_item(variant, product, store, fields)
    new_hash = items.payload_hash(item)
    excluded = fields.excluded or variant.removed_at is not None
    if new_hash == variant.payload_hash and excluded == variant.excluded:
        return False
    variant.payload_hash = new_hash
    variant.payload_mask = items.clearable_mask(item)
    variant.excluded = excluded
    problems = [] if excluded else items.local_problems(item)
    if problems:
        _set_failed(variant, problems)
    elif not excluded and new_hash == variant.failed_hash:
        # Back to the very version Meta rejected: held, not sent to be rejected again.
        variant.meta_status, variant.failure_source = Status.FAILED, Source.META_BATCH
        variant.last_error, variant.last_error_code, variant.last_error_fix = HELD_MESSAGE, HELD_CODE, HELD_FIX
    else:
        if (
            new_hash == variant.synced_hash
            and variant.in_flight_batch_id is None
            and not variant.held_mask & ~variant.payload_mask
        ):
            # Back to what Meta accepted, and Meta holds no field this payload lacks (one an
            # update-only feed could not clear): Meta holds exactly this.
            variant.meta_status = Status.SYNCED
        else:
            variant.meta_status = Status.PENDING
        variant.last_error = variant.last_error_code = variant.last_error_fix = ""
        variant.failure_source = Source.NONE
    variant.updated_at = timezone.now()
    return True


def _failure_texts(problems: Sequence[items.Problem]) -> tuple[str, str, str]:
    """(last_error, last_error_fix, last_error_code) for a locally failed variant."""
    return (
        " ".join(p.message for p in problems)[:5000],
        " ".join(dict.fromkeys(p.fix for p in problems))[:5000],
        ",".join(p.code for p in problems)[:100],
    )


def _set_failed(variant: Variant, problems: Sequence[items.Problem]) -> None:
    variant.meta_status = Status.FAILED
    variant.failure_source = Source.LOCAL
    variant.last_error, variant.last_error_fix, variant.last_error_code = _failure_texts(problems)


REFRESH_FIELDS = [
    "payload_hash",
    "payload_mask",
    "meta_status",
    "failure_source",
    "last_error",
    "last_error_code",
    "last_error_fix",
    "excluded",
    "updated_at",
]
_GROUPED = ("meta_status", "failure_source", "last_error", "last_error_code", "last_error_fix", "excluded")


def refresh_in_memory(variants: Iterable[Variant], store: ShopifyStore | None = None) -> list[Variant]:
    """:func:`refresh_variant` for many variants (their ``product`` set); return the changed ones.

    The product's part of the item is computed once per product. ``store``: every
    variant's, when the caller has it (else each product's own ``store``).
    """
    fields: dict[int, items.ProductFields] = {}
    changed = []
    for variant in variants:
        product = variant.product
        product_store = store or product.store
        if product.pk not in fields:
            fields[product.pk] = items.product_fields(product, product_store)
        if refresh_variant(variant, product, product_store, fields[product.pk]):
            changed.append(variant)
    return changed


def refresh_variants(variants: models.QuerySet[Variant] | Iterable[Variant]) -> int:
    """Refresh many variants in bounded batches; return how many changed."""
    if isinstance(variants, models.QuerySet):
        # Joins product and store, without decrypting the store's secrets (not in any payload).
        variants = variants.with_item_relations().iterator(chunk_size=REFRESH_BATCH)
    changed = 0
    for batch in in_chunks(variants, REFRESH_BATCH):
        dirty = refresh_in_memory(batch)
        if dirty:
            _write_refreshed(dirty)
            changed += len(dirty)
    return changed


# The stored fields :func:`refresh_variant` reads besides the item's data (``items.meta_item``):
# a writer that holds a variant's row as values reads these too to refresh it in memory.
REFRESH_READS = (
    "previous_id",
    "payload_hash",
    "excluded",
    "failed_hash",
    "synced_hash",
    "held_mask",
    "in_flight_batch_id",
)


def refresh_for_write(variants: Iterable[Variant], store: ShopifyStore) -> list[Variant]:
    """Refresh variants a caller is about to write anyway; return the changed ones.

    For a bulk upsert that holds the variants in memory (``product`` set, plus the
    ``REFRESH_READS`` of their rows): their new state goes in the same write as their
    data (:func:`refreshed_fields` names what to write), instead of a read-back and a
    second write. Once written, :func:`record_refreshed` records them.
    """
    dirty = refresh_in_memory(variants, store)
    for variant in dirty:
        if variant.meta_status != Status.SYNCED:
            variant.verdict = Verdict.NONE  # a verdict speaks of a version Meta holds: none is current
    return dirty


def refreshed_fields(variant: Variant) -> tuple[str, ...]:
    """The fields :func:`refresh_for_write` changed on ``variant``, to write with its data."""
    if variant.meta_status != Status.SYNCED:
        return (*REFRESH_FIELDS, "verdict")
    return tuple(REFRESH_FIELDS)


def record_refreshed(dirty: Sequence[Variant], *, at=None) -> None:
    """After refreshed variants are written: their timeline events, and a push for the PENDING ones."""
    timeline.record_rows((_refresh_event(v) for v in dirty), at=at or timezone.now())
    # Push on change: the catalogs of the rows now PENDING ask for a push once this commits.
    request_pushes(v.catalog_id for v in dirty if v.meta_status == Status.PENDING)


def _write_refreshed(dirty: list[Variant]) -> None:
    """Write the ``REFRESH_FIELDS`` of ``dirty`` variants.

    Only the hash and its fields' mask differ per row, so only they are written per row, by
    ``UPDATE ... FROM (VALUES ...)`` (``bulk_update``'s CASE expressions were about half of a
    1% incremental sync's CPU at 1,000,000 variants); status and errors are shared by many rows
    and go as one plain UPDATE per distinct value.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for variant in dirty:
        groups[tuple(getattr(variant, name) for name in _GROUPED)].append(variant.pk)
    now = timezone.now()
    with transaction.atomic():
        update_by_pk(Variant, ("payload_hash", "payload_mask"), [(v.pk, v.payload_hash, v.payload_mask) for v in dirty])
        for values, pks in groups.items():
            shared = dict(zip(_GROUPED, values, strict=True))
            for start in range(0, len(pks), WRITE_BATCH):
                Variant.objects.filter(pk__in=pks[start : start + WRITE_BATCH]).update(
                    **shared,
                    **({"verdict": Verdict.NONE} if shared["meta_status"] != Status.SYNCED else {}),
                    updated_at=now,
                )
        record_refreshed(dirty, at=now)


def _refresh_event(variant: Variant) -> timeline.Row:
    """The timeline event of a refreshed variant: what its new payload means for Meta."""
    if variant.meta_status == Status.FAILED and variant.last_error_code == HELD_CODE:
        kind = Event.HELD
    elif variant.meta_status == Status.FAILED:
        kind = Event.INVALID
    else:
        kind = Event.CHANGED
    detail = {"status": "excluded" if variant.excluded else variant.meta_status}
    return timeline.Row.of(variant, kind, detail=detail, message=variant.last_error)


# --- The send-time gate ------------------------------------------------------------------------


def fail_at_send(batch: SyncBatch, failures: Mapping[int, tuple[Sequence[items.Problem], str]]) -> int:
    """Variants of ``batch`` found locally invalid while their request or row was built.

    ``failures``: pk -> (problems, how the variant now travels: HIDE, SKIP or UPSERT for
    "left out of an update feed"). They become FAILED (local) at once; confirmation keeps
    that verdict whatever Meta says about the rest of the batch.
    """
    now = timezone.now()
    by_values: dict[tuple, list[int]] = defaultdict(list)
    for pk, (problems, method) in failures.items():
        by_values[(*_failure_texts(problems), method)].append(pk)
    done = 0
    for (error, fix, code, method), pks in by_values.items():
        for start in range(0, len(pks), WRITE_BATCH):
            rows = Variant.objects.filter(in_flight_batch=batch, pk__in=pks[start : start + WRITE_BATCH])
            timeline.record_from(
                rows, Event.INVALID, at=now, batch_id=batch.pk, message=error, detail=timeline.batch_detail(batch.kind)
            )
            done += rows.update(in_flight_method=method, updated_at=now, **failure(Source.LOCAL, error, fix, code))
    return done


# --- Claims and verdicts of batches and uploads --------------------------------------------------


def released() -> dict:
    """The fields that take a variant out of its in-flight batch."""
    return {"in_flight_batch": None, "in_flight_hash": "", "in_flight_method": ""}


def no_failure() -> dict:
    """The fields that clear a variant's failure: no source, no error, no fix."""
    return {"failure_source": Source.NONE, "last_error": "", "last_error_code": "", "last_error_fix": ""}


def failure(source: str, error: str, fix: str, code: str) -> dict:
    """The fields of a variant that cannot be live: FAILED, who said so and why, no verdict."""
    return {
        "meta_status": Status.FAILED,
        "failure_source": source,
        "last_error": error,
        "last_error_fix": fix,
        "last_error_code": code,
        "verdict": Verdict.NONE,
    }


def release_batch(batch: SyncBatch, *, now=None) -> int:
    """Take every variant out of ``batch`` unchanged (PENDING stays PENDING, goes in a later batch)."""
    now = now or timezone.now()
    rows = Variant.objects.filter(in_flight_batch=batch)
    timeline.record_from(rows, Event.RETURNED, at=now, batch_id=batch.pk, detail=timeline.batch_detail(batch.kind))
    # Meta may have taken part of it (it gave up part-way, a timed-out handle): what it may hold grows.
    return rows.update(updated_at=now, held_mask=HELD_OR_SENT, **released())


REJECT_CHUNK = 500  # rows per CASE statement when many items are rejected at once


def update_only(batch: SyncBatch) -> bool:
    """True when ``batch`` is an update-only upload: its rows change only the fields they fill."""
    return batch.kind == SyncBatch.Kind.UPDATE_FEED or (
        batch.kind == SyncBatch.Kind.REPLACE_FEED and bool((batch.stats or {}).get("adopting"))
    )


# Meta held a version of the item before this batch (read before the UPDATE that settles it).
WAS_HELD = (~Q(synced_hash="") | ~Q(meta_item_id="")) & Q(meta_deleted_at__isnull=True)


def kept_by_update_only(batch: SyncBatch) -> Q:
    """Rows of ``batch`` that cannot leave Meta holding exactly what was sent: an update-only row of
    an item Meta held with a clearable field the row lacks (Meta keeps that field's old value).

    An update feed does not claim such items (catalog.sync.claim.claim_feed): they are in the
    update-only snapshot that adopts a shard's items (it must list every item), or their data
    changed between the claim and the file (``in_flight_mask`` is what the file carried).
    """
    if not update_only(batch):
        return Q(pk__in=[])
    return (
        Q(in_flight_method=UPSERT)
        & ~LOCALLY_FAILED
        & WAS_HELD
        & ~Q(held_mask=F("held_mask").bitand(F("in_flight_mask")))
    )


def apply_rejections(batch: SyncBatch, rejected: Mapping[str, str], source: str) -> int:
    """FAILED with Meta's message for each rejected retailer id still in ``batch``.

    A variant that changed in flight stays PENDING (the new data may fix it), and so does one
    whose update-only row Meta read merged with a value it kept (:func:`kept_by_update_only`: a
    price lowered to the old sale price is "invalid sale price"): the Batch API or a replace feed
    sends it whole. Variants our own validation failed at send time keep that verdict.
    The very version Meta rejected before, rejected again, writes no timeline event
    (``RESENT_REJECTED``: a replace feed lists it each time); its message is Meta's latest.
    """
    now = timezone.now()
    rows = list(rejected.items())
    done = 0
    for start in range(0, len(rows), REJECT_CHUNK):
        chunk = rows[start : start + REJECT_CHUNK]
        messages = Case(
            *(When(retailer_id=rid, then=Value(msg[:5000])) for rid, msg in chunk),
            default=Value(""),
            output_field=TextField(),
        )
        rows = Variant.objects.filter(in_flight_batch=batch, retailer_id__in=[rid for rid, _ in chunk]).exclude(
            LOCALLY_FAILED
        )
        failing = UNCHANGED & ~kept_by_update_only(batch)
        timeline.record_from(
            rows.exclude(RESENT_REJECTED & UNCHANGED),
            Event.REJECTED,
            at=now,
            batch_id=batch.pk,
            message=messages,
            detail=timeline.batch_detail(batch.kind),
        )
        done += rows.update(
            meta_status=Case(When(failing, then=Value(Status.FAILED)), default=Value(Status.PENDING)),
            failure_source=Case(When(failing, then=Value(source)), default=Value(Source.NONE)),
            last_error=Case(When(failing, then=messages), default=Value(""), output_field=TextField()),
            last_error_fix=Case(When(failing, then=Value(META_FIX)), default=Value(""), output_field=TextField()),
            last_error_code=Case(When(failing, then=Value("META_REJECTED")), default=Value("")),
            failed_hash=Case(When(failing, then=F("in_flight_hash")), default=F("failed_hash")),
            verdict=Value(Verdict.NONE),
            updated_at=now,
            **released(),
        )
    return done


def forget_missing(batch: SyncBatch, retailer_ids: Collection[str]) -> int:
    """Variants of ``batch`` whose update Meta refused because it no longer holds them.

    PENDING and new to Meta again (no hash, no creator), so a feed creates them: the
    Batch API never recreates an item behind the feeds' back (catalog.sync.creation).
    """
    rows = Variant.objects.filter(in_flight_batch=batch, retailer_id__in=list(retailer_ids))
    timeline.record_from(
        rows,
        Event.RETURNED,
        batch_id=batch.pk,
        detail=timeline.batch_detail(batch.kind),
        message=gettext_noop("Meta no longer holds the item: a feed creates it again."),
    )
    return rows.update(
        meta_status=Status.PENDING,
        synced_hash="",
        held_mask=0,
        meta_item_id="",
        created_via=Variant.CreatedVia.NONE,
        in_replace_feed_at=None,
        verdict=Verdict.NONE,
        review_status="",
        visibility="",
        updated_at=timezone.now(),
        **no_failure(),
        **released(),
    )


def forget_deletion(variants: models.QuerySet[Variant], meta_item_ids: Mapping[int, str]) -> int:
    """Variants we deleted (or never created) that Meta still holds: in Meta again, PENDING.

    The drift scan found them (a lost delete); the push then deletes them by the method the
    rules allow: listed by a replace feed first, then left out of it (catalog.sync.claim).
    """
    done = 0
    for pk, meta_item_id in meta_item_ids.items():
        done += variants.filter(pk=pk, in_flight_batch__isnull=True).update(
            meta_deleted_at=None,
            meta_item_id=(meta_item_id or "ghost")[:64],
            held_mask=items.ALL_CLEARABLE,  # what the ghost holds is not known
            meta_status=Status.PENDING,
            created_via=Variant.CreatedVia.NONE,
            in_replace_feed_at=None,
            verdict=Verdict.NONE,
            updated_at=timezone.now(),
        )
    return done


def requeue_unconfirmed(batch: SyncBatch, *, message: str, confirmed: Collection[str] = ()) -> int:
    """Variants of ``batch`` whose verdict Meta did not give (rows beyond its error samples).

    They are not assumed accepted: PENDING again, with the reason, and sent in a later
    Batch API call, whose status names every rejected item. Rows identical to what Meta
    had already accepted are not in doubt (Meta keeps that version either way), nor are the
    ``confirmed`` retailer ids (new items read back from Meta: it stores no rejected new row).
    """
    now = timezone.now()
    doubtful = (
        Variant.objects.filter(in_flight_batch=batch)
        .exclude(LOCALLY_FAILED)
        .exclude(in_flight_method__in=(SKIP, DELETE))
        .exclude(synced_hash=F("in_flight_hash"))
    )
    if confirmed:
        doubtful = doubtful.exclude(retailer_id__in=list(confirmed))
    timeline.record_from(
        doubtful, Event.RETURNED, at=now, batch_id=batch.pk, message=message, detail=timeline.batch_detail(batch.kind)
    )
    return doubtful.update(
        meta_status=Status.PENDING,
        held_mask=HELD_OR_SENT,  # Meta may have taken the row, or not
        failure_source=Source.META_FEED,
        last_error=message[:5000],
        last_error_fix="Nothing to do: Galantis re-checks it.",
        last_error_code="FEED_UNCONFIRMED",
        verdict=Verdict.NONE,
        updated_at=now,
        **released(),
    )


def apply_accepted(batch: SyncBatch) -> tuple[int, int, int]:
    """Everything still in ``batch`` was accepted; return (synced, stale, deleted) counts.

    Meta then holds the clearable fields sent (``held_mask`` = ``in_flight_mask``), except after
    an update-only upload, which cannot clear: an item Meta held keeps what it held besides, and
    stays PENDING (counted stale, so a push follows) when that is a field its payload lacks.
    """
    now = timezone.now()
    in_batch = Variant.objects.filter(in_flight_batch=batch)
    upserted = Q(in_flight_method=UPSERT)
    # Read before the UPDATE changes it (SQL evaluates every CASE on the old row).
    listed = Q(in_flight_method__in=[UPSERT, HIDE]) & ~LOCALLY_FAILED
    was_new = (Q(synced_hash="") & Q(meta_item_id="")) | Q(meta_deleted_at__isnull=False)
    gone = Q(in_flight_method__in=[DELETE, SKIP])
    kept = kept_by_update_only(batch)
    held_whens = [When(gone, then=Value(0))]
    if update_only(batch):
        # An update-only row adds its fields to those Meta kept of the version it held.
        held_whens.append(When(upserted & ~was_new & ~LOCALLY_FAILED, then=HELD_OR_SENT))
    held_whens.append(When(upserted & ~LOCALLY_FAILED, then=F("in_flight_mask")))
    # Hidden or left out: Meta's copy is as it was.
    held_mask = Case(*held_whens, default=F("held_mask"), output_field=BigIntegerField())
    counts = in_batch.aggregate(
        stale=Count("pk", filter=(~UNCHANGED | kept) & ~LOCALLY_FAILED),
        deleted=Count("pk", filter=Q(in_flight_method=DELETE)),
        failed=Count("pk", filter=LOCALLY_FAILED),
    )
    stale = counts["stale"]
    creator = Variant.CreatedVia.BATCH if batch.kind == SyncBatch.Kind.ITEMS_BATCH else Variant.CreatedVia.FEED
    # Timeline: one INSERT ... SELECT for the whole batch, before the UPDATE releases it. The
    # locally failed rows were recorded when they failed (fail_at_send), except those hidden.
    timeline.record_from(
        in_batch,
        Case(
            When(in_flight_method__in=[DELETE, SKIP], then=Value(Event.REMOVED)),
            When(in_flight_method=HIDE, then=Value(Event.HIDDEN)),
            When(LOCALLY_FAILED, then=Value("")),
            When(UNCHANGED, then=Value(Event.ACCEPTED)),
            default=Value(Event.ACCEPTED_STALE),
            output_field=CharField(),
        ),
        at=now,
        batch_id=batch.pk,
        detail=timeline.batch_detail(batch.kind),
        message=Case(
            When(kept, then=Value(KEPT_MESSAGE)),
            default=Value(""),
            output_field=CharField(),
        ),
    )
    total = in_batch.update(
        # Who created the item Meta now holds, and whether a replace feed listed it since:
        # deletions follow both (catalog.sync.claim.method_case).
        created_via=Case(
            When(gone, then=Value(Variant.CreatedVia.NONE)),
            When(listed & was_new, then=Value(creator)),
            default=F("created_via"),
        ),
        in_replace_feed_at=(
            Case(When(gone, then=Value(None)), When(listed, then=Value(now)), default=F("in_replace_feed_at"))
            if batch.kind == SyncBatch.Kind.REPLACE_FEED
            else Case(When(gone | (listed & was_new), then=Value(None)), default=F("in_replace_feed_at"))
        ),
        # A row Meta never got (locally invalid: hidden or left out) is not what Meta holds.
        # Meta holds what was sent, even when the variant moved on meanwhile (then it stays PENDING).
        synced_hash=Case(When(LOCALLY_FAILED, then=F("synced_hash")), default=F("in_flight_hash")),
        held_mask=held_mask,
        meta_status=Case(
            When(LOCALLY_FAILED, then=Value(Status.FAILED)),
            When(UNCHANGED & ~kept, then=Value(Status.SYNCED)),
            default=Value(Status.PENDING),
        ),
        failure_source=Case(When(LOCALLY_FAILED, then=F("failure_source")), default=Value(Source.NONE)),
        last_error=Case(When(LOCALLY_FAILED, then=F("last_error")), default=Value(""), output_field=TextField()),
        last_error_fix=Case(
            When(LOCALLY_FAILED, then=F("last_error_fix")), default=Value(""), output_field=TextField()
        ),
        last_error_code=Case(When(LOCALLY_FAILED, then=F("last_error_code")), default=Value("")),
        # Deleted, left out of a replace feed, or deliberately kept out: Meta does not have it.
        meta_deleted_at=Case(
            When(in_flight_method__in=[DELETE, SKIP], then=Value(now)),
            When(LOCALLY_FAILED, then=F("meta_deleted_at")),
            default=Value(None),
        ),
        # What Meta now shows: the visibility we sent (staging for excluded or hidden items).
        visibility=Case(
            When(in_flight_method=HIDE, then=Value("staging")),
            When(upserted & ~LOCALLY_FAILED & UNCHANGED & Q(excluded=True), then=Value("staging")),
            When(upserted & ~LOCALLY_FAILED & UNCHANGED, then=Value("published")),
            When(in_flight_method__in=[DELETE, SKIP], then=Value("")),
            default=F("visibility"),
            output_field=CharField(),
        ),
        # A new payload goes back through Meta's review; the verdict poll reads the result.
        verdict=Case(
            When(upserted & ~LOCALLY_FAILED & UNCHANGED & ~kept & Q(excluded=False), then=Value(Verdict.IN_REVIEW)),
            default=Value(Verdict.NONE),
        ),
        review_status=Case(
            When(upserted & ~LOCALLY_FAILED & UNCHANGED, then=Value("")),
            default=F("review_status"),
            output_field=CharField(),
        ),
        synced_at=Case(When(LOCALLY_FAILED, then=F("synced_at")), default=Value(now)),
        updated_at=now,
        **released(),
    )
    return total - stale - counts["failed"], stale, counts["deleted"]


# --- Operator and connection transitions --------------------------------------------------------


def mark_pending(variants: models.QuerySet[Variant], *, now=None, meta_copy_unknown: bool = False) -> int:
    """Send these variants again at the next push (not those in flight, not the locally invalid).

    ``meta_copy_unknown``: someone else edited Meta's copy (drift), so it may hold any clearable
    field our payload lacks, which only the Batch API or a replace feed clears (``held_mask``).
    """
    now = now or timezone.now()
    rows = variants.filter(in_flight_batch__isnull=True).exclude(LOCALLY_FAILED)
    timeline.record_from(rows, Event.QUEUED, at=now, detail={"why": "sent again"})
    held = {"held_mask": items.ALL_CLEARABLE} if meta_copy_unknown else {}
    return rows.update(meta_status=Status.PENDING, updated_at=now, **held)


def retry_meta_failures(variants: models.QuerySet[Variant], *, sources: Sequence[str] | None = None) -> int:
    """Items Meta (or the connection) failed go back to PENDING, with their error cleared and any hold lifted."""
    sources = sources or (Source.META_BATCH, Source.META_FEED, Source.INTEGRATION)
    rows = variants.filter(meta_status=Status.FAILED, failure_source__in=sources)
    timeline.record_from(rows, Event.QUEUED, detail={"why": "retry"})
    return rows.update(meta_status=Status.PENDING, failed_hash="", updated_at=timezone.now(), **no_failure())


def needs_hiding() -> Q:
    """Locally invalid items of which Meta still shows an older version: the next push hides them."""
    return LOCALLY_FAILED_SHOWN_BY_META & ~Q(visibility="staging")


def attach_to_catalog(variants: models.QuerySet[Variant], catalog_id: int, *, now) -> int:
    """Variants start over in a catalog new to them: PENDING, except the locally invalid (FAILED)."""
    return variants.update(
        catalog_id=catalog_id,
        in_flight_batch=None,
        in_flight_hash="",
        in_flight_method="",
        meta_deleted_at=None,
        synced_hash="",
        held_mask=0,
        meta_item_id="",
        meta_retailer_id="",
        previous_id="",
        created_via=Variant.CreatedVia.NONE,
        in_replace_feed_at=None,
        meta_status=Case(When(LOCALLY_FAILED, then=Value(Status.FAILED)), default=Value(Status.PENDING)),
        failure_source=Case(When(LOCALLY_FAILED, then=F("failure_source")), default=Value(Source.NONE)),
        last_error=Case(When(LOCALLY_FAILED, then=F("last_error")), default=Value(""), output_field=TextField()),
        last_error_fix=Case(
            When(LOCALLY_FAILED, then=F("last_error_fix")), default=Value(""), output_field=TextField()
        ),
        last_error_code=Case(When(LOCALLY_FAILED, then=F("last_error_code")), default=Value("")),
        verdict=Verdict.NONE,
        review_status="",
        review_rejection_reasons=[],
        visibility="",
        image_fetch_status="",
        channel_review={},
        verdict_checked_at=None,
        updated_at=now,
    )


def mark_imported(
    synced: Sequence[int],
    pending: Sequence[int],
    failed: Mapping[int, Sequence[items.Problem]],
    *,
    now,
    uncompared: int = items.ALL_CLEARABLE,
) -> None:
    """An imported catalog's matched variants: identical ones SYNCED, others PENDING, invalid ones FAILED.

    ``created_via`` is set by the caller: a matched item was created by another tool.
    ``uncompared``: the clearable fields' bits the match did not compare: the other tool may
    have set them, so Meta may hold them beside those of our payload (``held_mask``).
    """
    Variant.objects.filter(pk__in=synced).update(
        **_held_as_sent(now, held_mask=F("payload_mask").bitor(Value(uncompared)))
    )
    # What Meta holds of an item that differs from ours is not known: any clearable field.
    Variant.objects.filter(pk__in=pending).update(
        meta_status=Status.PENDING, synced_hash="", held_mask=items.ALL_CLEARABLE, verdict=Verdict.NONE, **no_failure()
    )
    by_values: dict[tuple, list[int]] = defaultdict(list)
    for pk, problems in failed.items():
        by_values[_failure_texts(problems)].append(pk)
    for (error, fix, code), pks in by_values.items():
        Variant.objects.filter(pk__in=pks).update(
            synced_hash="", held_mask=items.ALL_CLEARABLE, updated_at=now, **failure(Source.LOCAL, error, fix, code)
        )


def _held_as_sent(now, held_mask=None) -> dict:
    """The fields of a variant Meta was found holding as we would send it: SYNCED, back in review."""
    return {
        "meta_status": Status.SYNCED,
        "synced_hash": F("payload_hash"),
        "held_mask": F("payload_mask") if held_mask is None else held_mask,
        "synced_at": now,
        "verdict": Verdict.IN_REVIEW,
        **no_failure(),
    }


def mark_linked(found: Sequence[int], missing: Sequence[int], *, now, message: str, fix: str, code: str) -> None:
    """A read-only catalog's mapping: variants it holds are SYNCED, the others FAILED (integration)."""
    # Never written by us: what the other tool's items hold is not known.
    Variant.objects.filter(pk__in=list(found)).update(
        created_via=Variant.CreatedVia.OTHER, **_held_as_sent(now, held_mask=Value(items.ALL_CLEARABLE))
    )
    Variant.objects.filter(pk__in=list(missing)).update(
        meta_item_id="", meta_retailer_id="", **failure(Source.INTEGRATION, message, fix, code)
    )


def mark_removed_for_deletion(variants: models.QuerySet[Variant], *, now) -> int:
    """Variants removed from Shopify past the grace period: PENDING, so the push deletes them."""
    return variants.update(meta_status=Status.PENDING, updated_at=now)
