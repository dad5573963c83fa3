"""Per-item timeline (issue 19 part 1) and the re-review queue (part 3).

``VariantEvent`` is one row per thing that happened to one variant, written in bulk by the
code paths that already write in bulk (``catalog.timeline``): a batch of 5,000 items adds
its 5,000 events with one ``INSERT ... SELECT``, never one INSERT per item.
"""

from __future__ import annotations

from typing import Self

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from .tenancy import TenantOwned, TenantQuerySet


class VariantEventQuerySet(TenantQuerySet):
    def for_variant(self, variant_id: int) -> Self:
        return self.filter(variant_id=variant_id)

    def for_product(self, product_id: int) -> Self:
        return self.filter(product_id=product_id)

    def newest_first(self) -> Self:
        return self.order_by("-at", "-id")

    def before(self, at, pk: int) -> Self:
        """Keyset: the rows after (``at``, ``pk``) in newest-first order."""
        return self.filter(models.Q(at__lt=at) | models.Q(at=at, id__lt=pk))


class VariantEvent(TenantOwned):
    """One event in one variant's life: Shopify change, send, Meta's answer, review, staff edit."""

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", _("Shopify change received")
        CHANGED = "changed", _("Payload changed")
        INVALID = "invalid", _("Caught before sending")
        HELD = "held", _("Held (Meta rejected this exact version)")
        QUEUED = "queued", _("Queued to be sent again")
        SENT = "sent", _("Sent to Meta")
        RETURNED = "returned", _("Batch gave up; goes in a later one")
        ACCEPTED = "accepted", _("Accepted by Meta")
        ACCEPTED_STALE = "accepted_stale", _("Accepted; changed meanwhile, goes again")
        REJECTED = "rejected", _("Rejected by Meta")
        HIDDEN = "hidden", _("Hidden in Meta")
        REMOVED = "removed", _("Removed from Meta")
        LIVE = "live", _("Meta's verdict: live")
        REVIEW_REJECTED = "review_rejected", _("Meta's verdict: rejected in review")
        NOT_VISIBLE = "not_visible", _("Meta's verdict: not visible")
        IN_REVIEW = "in_review", _("Meta's verdict: in review")
        REVIEW = "review", _("Meta's review status changed")
        # Meta's WhatsApp review of the item moved while the verdict stayed (e.g. pending to approved).
        WHATSAPP = "whatsapp", _("Meta's WhatsApp capability changed")
        ISSUE_OPENED = "issue_opened", _("Diagnostics issue opened")
        ISSUE_RESOLVED = "issue_resolved", _("Diagnostics issue resolved")
        STAFF_EDIT = "staff_edit", _("Edited by staff")
        DRIFT_FOUND = "drift_found", _("Drift found in Meta")
        DRIFT_FIXED = "drift_fixed", _("Drift fixed")
        REREVIEW_QUEUED = "rereview_queued", _("Another review requested (queued)")
        REREVIEW_SENT = "rereview_sent", _("Another review requested from Meta")
        REREVIEW_REFUSED = "rereview_refused", _("Meta refused another review")

    # No FK constraint to Variant: a variant deleted with 100,000 events would otherwise be
    # held up by a cascade through Python; the retention purge removes them by age.
    # No tenant index of its own: every read leads with variant or product.
    tenant = models.ForeignKey("catalog.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant_id = models.BigIntegerField()
    product_id = models.BigIntegerField(null=True, blank=True)
    catalog_id = models.BigIntegerField(null=True, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True, help_text="The SyncBatch (Batch API call or feed).")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    # Small: the batch kind, a status, the fields that changed, who edited; never a payload.
    detail = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)

    objects = VariantEventQuerySet.as_manager()

    class Meta:
        indexes = [
            # The timeline of one variant / one product, newest first, paged by keyset (at, id).
            models.Index(fields=["variant_id", "at", "id"], name="variantevent_variant_at"),
            models.Index(fields=["product_id", "at", "id"], name="variantevent_product_at"),
            # Retention purge.
            models.Index(fields=["at"], name="variantevent_at"),
            # The alerts "rejected" and "no longer visible after having been live" read a catalog's
            # recent review rejections and "not visible" verdicts: a partial index holds only those (few) rows.
            models.Index(
                fields=["catalog_id", "at"],
                condition=models.Q(kind__in=["review_rejected", "not_visible"]),
                name="variantevent_after_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.variant_id})"

    @property
    def summary(self) -> str:
        """The event in the merchant's words, in the active language: its label, the batch, what it carries.

        Stored in English (kind, detail codes, our messages); translated here. Meta's own
        messages are not in the message files and stay as Meta wrote them.
        """
        parts = [str(self.get_kind_display())]
        d = self.detail or {}
        if self.batch_id:
            via = d.get("via") or ""
            via_label = _BATCH_VIA.get(via)
            via_text = gettext(via_label) if via_label else str(via or "batch").replace("_", " ").lower()
            parts.append(gettext("in %(via)s #%(batch)s") % {"via": via_text, "batch": self.batch_id})
        for key, label in _DETAIL_LABELS:
            value = d.get(key)
            if value:
                value = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                parts.append(gettext(label) % {"value": value.lower() if key == "status" else value})
        text = " · ".join(parts)
        message = _message_shown(self.message)
        return gettext("%(event)s: %(message)s") % {"event": text, "message": message} if message else text


# How a batch kind reads inside an event ("in items batch #12"), marked for translation.
_BATCH_VIA = {
    "items_batch": gettext_noop("items batch"),
    "replace_feed": gettext_noop("replace feed"),
    "update_feed": gettext_noop("update feed"),
}
# What an event's detail carries, in order; the values are codes (Meta's statuses, field names).
_DETAIL_LABELS = (
    ("fields", gettext_noop("fields: %(value)s")),
    ("source", gettext_noop("from %(value)s")),
    ("status", gettext_noop("now %(value)s")),
    ("by", gettext_noop("by %(value)s")),
    ("review_status", gettext_noop("review %(value)s")),
    ("whatsapp", gettext_noop("WhatsApp %(value)s")),
)
# The messages we write with events, stored in English (the writers mark them with gettext_noop).
WHATSAPP_WAS = "WhatsApp was "


def _message_shown(message: str) -> str:
    """``message`` in the active language when it is one of ours; Meta's own text as Meta wrote it."""
    if not message:
        return message
    if message.startswith(WHATSAPP_WAS):  # composed in SQL: "WhatsApp was <Meta's status>"
        status = message[len(WHATSAPP_WAS) :]
        if status == "not reported":
            return gettext("WhatsApp was not reported")
        return gettext("WhatsApp was %(status)s") % {"status": status}
    return gettext(message)


class ReReviewRequest(TenantOwned):
    """A rejected item waiting for (or given) another review through Meta's additional_reviews edge.

    Meta allows one additional review per item, only after a rejection, 100 items a call and
    10 calls a day per catalog (``catalog.rereview``).
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent to Meta"
        REFUSED = "refused", "Refused by Meta"
        CANCELLED = "cancelled", "Cancelled (no longer rejected)"

    class Reason(models.TextChoices):
        FIXED = "fixed", "Fixed and accepted again, still rejected"
        STAFF = "staff", "Staff asked"

    catalog = models.ForeignKey("catalog.Catalog", on_delete=models.CASCADE, related_name="rereview_requests")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="rereview_requests")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=8, choices=Reason.choices)
    requested_by = models.CharField(max_length=150, blank=True)
    message = models.CharField(max_length=500, blank=True, help_text="Rationale sent to Meta with the request.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # Meta grants one additional review per item: one request per variant, ever.
            models.UniqueConstraint(fields=["variant"], name="rereview_one_per_variant"),
        ]
        indexes = [models.Index(fields=["catalog", "state", "created_at"], name="rereview_queue")]

    def __str__(self) -> str:
        return f"Re-review of variant {self.variant_id} ({self.state})"
