"""Read-only admin for sync batches: what was sent to Meta, when, and how it went; and the dead letters page."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog.models import SyncBatch, Variant

from .base import ReadOnlyAdmin, TenantRelatedOnlyFilter
from .dead_letters import DeadLettersMixin
from .display import humanize_duration

# Products listed on a batch's page (the variants list, filtered by batch, has the rest).
AFFECTED_LIMIT = 200
# Rows of Meta's errors on a batch's page: each names its variants, read in one query for the page.
ERRORS_SHOWN = 200


def error_retailer_ids(batch: SyncBatch, error: dict) -> list[str]:
    """The retailer ids one of Meta's errors is about.

    A Batch API error names its item (``id``: our retailer id, from the line when Meta gave
    only that); a feed upload's ``id`` is Meta's id of the error itself, its items are the
    samples ``feeds.upload_errors`` kept (``retailer_ids``).
    """
    if batch.kind == SyncBatch.Kind.ITEMS_BATCH:
        return [str(error["id"])] if error.get("id") else []
    return [str(rid) for rid in error.get("retailer_ids") or [] if rid]


def _variant_cell(variant: Variant | None, retailer_id: str) -> str:
    """The product and variant (title, SKU), each a link to its admin page; the retailer id when not ours."""
    if variant is None:
        return format_html('<span class="quiet">{} (not in this catalog)</span>', retailer_id)
    return format_html(
        '<a href="{}">{}</a> · <a href="{}">{}</a>{}',
        reverse("admin:catalog_product_change", args=[variant.product_id]),
        variant.product.title,
        reverse("admin:catalog_variant_change", args=[variant.pk]),
        variant.title,
        format_html(' <span class="quiet">SKU {}</span>', variant.sku) if variant.sku else "",
    )


@admin.register(SyncBatch)
class SyncBatchAdmin(DeadLettersMixin, ReadOnlyAdmin):
    """Batches are written by the sync engine only; staff look, never edit (the dead letters page retries)."""

    # State and what came of it first; shard, handle and timing details are on the batch's page.
    list_display = ("batch", "state", "outcome", "catalog", "created_at", "duration", "tenant")
    list_filter = ("state", "kind", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "catalog")
    search_fields = ("=handle",)
    ordering = ("-pk",)
    readonly_fields = ("counts_explained", "affected_products", "variants_link", "errors_table", "duration")
    first_fields = ("catalog", "kind", "state", "counts_explained", "affected_products", "errors_table")

    def get_fields(self, request, obj=None):
        # What happened first (counts that add up, the products, Meta's errors), then the raw record.
        hidden = {"id", "errors", *self.first_fields}
        return [*self.first_fields, "duration", "variants_link"] + [
            f.name for f in SyncBatch._meta.fields if f.name not in hidden
        ]

    @admin.display(description="Batch", ordering="pk")
    def batch(self, obj: SyncBatch) -> str:
        """``#12 Batch API``: the number and the kind, short (the state has its own column)."""
        return f"#{obj.pk} {obj.get_kind_display().split(' (')[0]}"

    @admin.display(description="Outcome")
    def outcome(self, obj: SyncBatch) -> str:
        """``1,840 synced · 26 rejected of 1,866`` (what the counts add up to is on the batch's page)."""
        parts = [f"{obj.synced_count:,} synced"]
        if obj.error_count:
            parts.append(f"{obj.error_count:,} rejected")
        if obj.stale_count:
            parts.append(f"{obj.stale_count:,} changed meanwhile")
        if obj.deleted_count:
            parts.append(f"{obj.deleted_count:,} deleted")
        return f"{' · '.join(parts)} of {obj.item_count:,}"

    @admin.display(description="Duration")
    def duration(self, obj: SyncBatch) -> str:
        return humanize_duration(obj.duration)

    @admin.display(description="What the counts mean")
    def counts_explained(self, obj: SyncBatch) -> str:
        """Each count with what it means, and what is left over, so the numbers add up on screen."""
        rows = [(obj.item_count, "sent", "items (variants) in this call to Meta")]
        accounted = 0
        for count, label, meaning in (
            (obj.synced_count, "synced", "Meta accepted exactly what was sent: now SYNCED"),
            (obj.error_count, "rejected", "Meta refused the item: FAILED with Meta's message (below)"),
            (
                obj.stale_count,
                "changed meanwhile",
                "changed in Shopify while in flight: stays PENDING and goes in a later batch",
            ),
            (obj.deleted_count, "deleted", "removed from Meta (a deletion request)"),
        ):
            rows.append((count, label, meaning))
            accounted += count
        rest = obj.item_count - accounted
        if rest > 0:
            why = (
                "Meta has not answered for them yet"
                if obj.state in (SyncBatch.State.CLAIMED, SyncBatch.State.SENT)
                else "no per-item answer (warnings only, or released unsent); they keep their previous status"
            )
            rows.append((rest, "not reported", why))
        if obj.warning_count:
            rows.append((obj.warning_count, "warnings", "accepted with a warning (counted in synced, not an error)"))
        rows_in_file = (obj.stats or {}).get("rows")
        if rows_in_file is not None and rows_in_file != obj.item_count:
            rows.append(
                (
                    rows_in_file,
                    "feed rows",
                    "lines in the uploaded file (a variant Meta must not keep is "
                    "left out of a replace feed, so rows can be fewer than items)",
                )
            )
        body = format_html_join(
            "",
            '<tr><td class="num">{}</td><th scope="row">{}</th><td>{}</td></tr>',
            ((f"{count:,}", label, meaning) for count, label, meaning in rows),
        )
        total = format_html(
            '<tr class="total"><td class="num">{}</td><th scope="row">= sent</th><td>{}</td></tr>',
            f"{accounted + max(rest, 0):,}",
            "synced + rejected + changed meanwhile + deleted + not reported",
        )
        return format_html('<table class="batch-counts"><tbody>{}{}</tbody></table>', body, total)

    @admin.display(description="Products in this batch")
    def affected_products(self, obj: SyncBatch) -> str:
        """The products of the variants Meta rejected and of those still in flight, each a link."""
        retailer_ids = [rid for e in obj.errors or [] if isinstance(e, dict) for rid in error_retailer_ids(obj, e)]
        variants = Variant.objects.for_tenant(obj.tenant_id).filter(
            Q(in_flight_batch=obj) | Q(catalog_id=obj.catalog_id, retailer_id__in=retailer_ids[:AFFECTED_LIMIT])
        )
        rows = list(
            variants.order_by()
            .values("product_id", "product__title")
            .annotate(n=Count("pk"))
            .order_by("product__title")[:AFFECTED_LIMIT]
        )
        if not rows:
            return "— (the batch finished without rejections; its variants are SYNCED or moved on)"
        change = reverse("admin:catalog_product_change", args=[0]).replace("/0/", "/{}/")
        return format_html(
            '<ul class="affected-products">{}</ul>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> <span class="quiet">({} variant{})</span></li>',
                (
                    (change.format(r["product_id"]), r["product__title"], r["n"], "" if r["n"] == 1 else "s")
                    for r in rows
                ),
            ),
        )

    @admin.display(description="Errors from Meta")
    def errors_table(self, obj: SyncBatch) -> str:
        """Meta's errors, each naming our product and variant with links, Meta's id kept for reference.

        The variants of every row shown are read in one query, whatever the number of rows;
        only the batch's own tenant and catalog are looked in, so nothing of another tenant is
        named or linked (an id that is not ours shows as it is).
        """
        rows = [e for e in obj.errors or [] if isinstance(e, dict)]
        if not rows:
            return obj.error_message or "—"
        shown = rows[:ERRORS_SHOWN]
        ids_of = [error_retailer_ids(obj, e) for e in shown]
        wanted = {rid for ids in ids_of for rid in ids}
        variants = (
            {
                v.retailer_id: v
                for v in Variant.objects.for_tenant(obj.tenant_id)
                .filter(catalog_id=obj.catalog_id, retailer_id__in=wanted)
                .select_related("product")
                .only("retailer_id", "title", "sku", "product_id", "product__title")
            }
            if wanted
            else {}
        )
        body = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td class="quiet">{}</td></tr>',
            (
                (
                    e.get("line", ""),
                    format_html_join(mark_safe("<br>"), "{}", ((_variant_cell(variants.get(r), r),) for r in ids))
                    if ids
                    else "—",
                    e.get("message") or e.get("summary") or e.get("description", ""),
                    e.get("id") or e.get("error_type", ""),
                )
                for e, ids in zip(shown, ids_of, strict=True)
            ),
        )
        more = (
            format_html(
                '<p class="quiet">The first {} of {} errors.</p>',
                len(shown),
                len(rows),
            )
            if len(rows) > len(shown)
            else ""
        )
        return format_html(
            '{}<table class="batch-errors"><thead><tr><th>Line</th><th>Product · variant</th><th>Message</th>'
            "<th>Meta's id</th></tr></thead><tbody>{}</tbody></table>{}",
            format_html("<p>{}</p>", obj.error_message) if obj.error_message else "",
            body,
            more,
        )

    @admin.display(description="Variants in flight")
    def variants_link(self, obj: SyncBatch) -> str:
        url = reverse("admin:catalog_variant_changelist") + f"?in_flight_batch__id__exact={obj.pk}"
        return format_html('<a href="{}">Variants still in this batch</a>', url)
