"""A variant's state as the merchant reads it: one name per state, one filter behind every number.

The health page's cards, its chart, its drill-downs, the CSV and the snapshots all count
with these filters, which mirror ``VariantQuerySet.health_counts()`` (the counts
contract): a variant not to be live (``excluded``) is counted once, as *not sent*,
whatever its push status; the others are pending, failed, or synced, and a synced one
is live, synced but not visible (rejected in Meta's review, or hidden / image not
fetched / WhatsApp's review), or in Meta's review (including not read yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog import item_state
from catalog.models import Variant, VariantStateCount

Status = Variant.SyncStatus
Verdict = Variant.Verdict

LIVE = "live"
NOT_VISIBLE = "not_visible"
REJECTED = "rejected"  # part of NOT_VISIBLE: Meta's review rejected it
HIDDEN = "hidden"  # the rest of NOT_VISIBLE: hidden, image not fetched, WhatsApp's review
IN_REVIEW = "in_review"
SYNCED = "synced"  # LIVE + NOT_VISIBLE + IN_REVIEW
FAILED = "failed"
PENDING = "pending"
EXCLUDED = "excluded"
ALL = "all"

# What a card, a chart series and a CSV cell call each state.
LABELS = {
    LIVE: _("Live on WhatsApp"),
    NOT_VISIBLE: _("Synced but not visible"),
    REJECTED: _("Rejected in Meta's review"),
    HIDDEN: _("Hidden or image not fetched"),
    IN_REVIEW: _("In Meta's review"),
    SYNCED: _("Synced"),
    FAILED: _("Failed"),
    PENDING: _("Pending"),
    EXCLUDED: _("Not sent (excluded)"),
    ALL: _("All"),
}
# Short names for chart legends.
SHORT_LABELS = {
    LIVE: _("Live"),
    NOT_VISIBLE: _("Not visible"),
    IN_REVIEW: _("In review"),
    FAILED: _("Failed"),
    PENDING: _("Pending"),
    EXCLUDED: _("Not sent"),
}
# The states a variant ends up in (each variant is in exactly one), in card order.
LEAVES = (LIVE, REJECTED, HIDDEN, IN_REVIEW, FAILED, PENDING, EXCLUDED)
# The states the drill-down and the CSV accept.
FILTERABLE = (LIVE, NOT_VISIBLE, REJECTED, HIDDEN, IN_REVIEW, SYNCED, FAILED, PENDING, EXCLUDED, ALL)
_SEEN_BY_META = (Verdict.LIVE, Verdict.NOT_VISIBLE, Verdict.REJECTED)


def q(state: str, prefix: str = "") -> Q:
    """The filter for ``state`` (``prefix``: the path to the variant, e.g. ``"variant__"``)."""

    def f(**lookups) -> Q:
        return Q(**{prefix + name: value for name, value in lookups.items()})

    to_be_live = f(excluded=False)
    synced = to_be_live & f(meta_status=Status.SYNCED)
    return {
        LIVE: synced & f(verdict=Verdict.LIVE),
        NOT_VISIBLE: synced & f(verdict__in=(Verdict.NOT_VISIBLE, Verdict.REJECTED)),
        REJECTED: synced & f(verdict=Verdict.REJECTED),
        HIDDEN: synced & f(verdict=Verdict.NOT_VISIBLE),
        IN_REVIEW: synced & ~f(verdict__in=_SEEN_BY_META),
        SYNCED: synced,
        FAILED: to_be_live & f(meta_status=Status.FAILED),
        PENDING: to_be_live & f(meta_status=Status.PENDING),
        EXCLUDED: f(excluded=True),
        ALL: Q(),
    }[state]


def state_of(variant: Variant) -> str:
    """The one leaf state of ``variant`` (``LEAVES``), by the same rules as :func:`q`."""
    if variant.excluded:
        return EXCLUDED
    if variant.meta_status == Status.PENDING:
        return PENDING
    if variant.meta_status == Status.FAILED:
        return FAILED
    if variant.verdict == Verdict.LIVE:
        return LIVE
    if variant.verdict == Verdict.REJECTED:
        return REJECTED
    if variant.verdict == Verdict.NOT_VISIBLE:
        return HIDDEN
    return IN_REVIEW


def card_state(state: str) -> str:
    """The card a leaf state is counted on (rejected and hidden are both "not visible")."""
    return NOT_VISIBLE if state in (REJECTED, HIDDEN) else state


@dataclass(frozen=True)
class StateCounts:
    """Variants per state, from one ``health_counts()`` (the contract's numbers, nothing re-counted)."""

    live: int = 0
    not_visible: int = 0
    rejected: int = 0
    in_review: int = 0
    failed: int = 0
    pending: int = 0
    excluded: int = 0

    @classmethod
    def from_health_counts(cls, counts: dict) -> StateCounts:
        verdict = counts["verdict"]
        return cls(
            live=verdict["live"],
            not_visible=verdict["not_visible"],
            rejected=verdict["rejected"],
            in_review=verdict["in_review"],
            failed=counts["failed"],
            pending=counts["pending"],
            excluded=counts["excluded"],
        )

    def __add__(self, other: StateCounts) -> StateCounts:
        return type(self)(**{name: getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__})

    @property
    def hidden(self) -> int:
        return self.not_visible - self.rejected

    @property
    def synced(self) -> int:
        return self.live + self.not_visible + self.in_review

    @property
    def total(self) -> int:
        return self.synced + self.failed + self.pending + self.excluded

    def of(self, state: str) -> int:
        return self.total if state == ALL else getattr(self, state)

    def percent(self, value: int) -> float:
        return round(100.0 * value / self.total, 1) if self.total else 0.0


def counts_for_catalogs(catalog_ids: list[int], *, tenant_id: int | None = None) -> StateCounts:
    """Variants per state over the catalogs, from the maintained counts (no variant is read).

    ``tenant_id`` keeps another tenant's catalog id from counting when the ids come from a request.
    """
    return StateCounts.from_health_counts(VariantStateCount.objects.health_counts(catalog_ids, tenant_id=tenant_id))


def counts_by_catalog(catalog_ids: list[int]) -> dict[int, dict]:
    """The counts contract for each catalog at once (maintained counts); a catalog without variants is absent."""
    return VariantStateCount.objects.by_catalog(catalog_ids)


# --- What Meta said, and what we said --------------------------------------------------------

META_SOURCES = frozenset(
    {
        Variant.FailureSource.META_BATCH,
        Variant.FailureSource.META_FEED,
        Variant.FailureSource.META_REVIEW,
    }
)
# Codes the sync engine writes with a META_* source but with a message of its own.
OUR_MESSAGE_CODES = frozenset({"FEED_UNCONFIRMED", item_state.HELD_CODE})


def error_is_metas(variant: Variant) -> bool:
    """True when ``last_error`` quotes Meta (a Meta rejection), False when we wrote it."""
    return variant.failure_source in META_SOURCES and variant.last_error_code not in OUR_MESSAGE_CODES


def error_speaker(variant: Variant) -> str:
    """Who ``last_error`` quotes, as a label: "Meta says" or "Galantis found"."""
    return gettext("Meta says") if error_is_metas(variant) else gettext("Galantis found")


def accepted_at(variant: Variant):
    """When Meta last accepted a version of this item, or None if Meta holds none (never sent, or deleted)."""
    if not variant.synced_hash or variant.meta_deleted_at is not None:
        return None
    return variant.synced_at


def why_not_visible(variant: Variant) -> str:
    """Why a synced item is not shown (the verdict's reasons), "" otherwise."""
    if variant.excluded or variant.meta_status != Status.SYNCED:
        return ""
    return item_state.not_visible_reason(variant)


def not_visible_reasons(variant: Variant) -> list[str]:
    """Each reason a synced item is not shown, short (a card lists them with their counts)."""
    reasons = []
    if (variant.review_status or "").lower() == item_state.REVIEW_REJECTED:
        why = ", ".join(str(r) for r in variant.review_rejection_reasons or []) or gettext("no reason given")
        reasons.append(gettext("rejected in Meta's review: %(reasons)s") % {"reasons": why})
    if (variant.visibility or "").lower() in ("staging", "hidden"):
        reasons.append(gettext("hidden in Meta"))
    if (variant.image_fetch_status or "").upper() in item_state.IMAGE_FAILED:
        reasons.append(gettext("Meta cannot fetch the image"))
    if str((variant.channel_review or {}).get(item_state.WHATSAPP, "")).upper() in item_state.CHANNEL_REJECTED:
        reasons.append(gettext("WhatsApp's review rejected it"))
    return reasons


def review_label(variant: Variant) -> str:
    """Meta's review status as shown ("Not read yet" when Meta was not asked since the item changed)."""
    return item_state.review_label(variant.review_status)
