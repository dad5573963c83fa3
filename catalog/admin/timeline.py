"""The per-item timeline in the admin (variant and product pages), the re-review queue and its action.

The change pages show the newest page of events; "Older events" opens the full timeline,
paged by keyset (``catalog.timeline``): any page of a variant with 100,000 events is one
indexed query of 51 rows.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from catalog import rereview, timeline
from catalog.models import Product, ReReviewRequest, Variant
from catalog.permissions import Action
from galantis.queue import enqueue

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin, admin_page, object_view

PREVIEW_SIZE = 10


def events_table(page: timeline.Page, labels: dict[int, str] | None = None) -> str:
    """The events of one page as an HTML table, newest first (``labels``: variant titles, product pages)."""
    if not page.events:
        return format_html('<p class="quiet">{}</p>', "No events yet (kept for the retention period).")
    rows = format_html_join(
        "",
        "<tr><td>{}</td>{}<td>{}</td></tr>",
        (
            (
                date_format(timezone.localtime(e.at), "DATETIME_FORMAT"),
                format_html("<td>{}</td>", labels.get(e.variant_id, e.variant_id)) if labels is not None else "",
                timeline.describe(e),
            )
            for e in page.events
        ),
    )
    head = format_html("<th>{}</th>", "Variant") if labels is not None else ""
    return format_html(
        '<table class="timeline"><thead><tr><th>When</th>{}<th>What happened</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        head,
        rows,
    )


class TimelineMixin:
    """Adds a "Timeline" read-only field and a full, paged timeline view to a variant or product admin."""

    def get_urls(self):
        return [admin_page(self, "<int:pk>/timeline/", self.timeline_view, "timeline")] + super().get_urls()

    def _page(self, obj, cursor: str = "", size: int = timeline.PAGE_SIZE) -> tuple[timeline.Page, dict | None]:
        if isinstance(obj, Product):
            labels = dict(Variant.objects.filter(product=obj).values_list("pk", "title"))
            return timeline.product_page(obj.pk, obj.tenant_id, cursor, size), labels
        return timeline.variant_page(obj, cursor, size), None

    @admin.display(description="Timeline (newest first)")
    def timeline(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        page, labels = self._page(obj, size=PREVIEW_SIZE)
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_timeline", args=[obj.pk])
        more = format_html('<p><a href="{}">{}</a></p>', url, "Every event, page by page →") if page.next_cursor else ""
        return format_html("{}{}", events_table(page, labels), more)

    @object_view(get=Action.VIEW)  # tenant-scoped (404 on other tenants' rows), then the role's VIEW
    def timeline_view(self, request: HttpRequest, obj):
        page, labels = self._page(obj, request.GET.get("cursor", ""))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"Timeline of {obj}",
            "table": events_table(page, labels),
            "next_cursor": page.next_cursor,
        }
        return TemplateResponse(request, "admin/catalog/timeline.html", context)


@admin.action(description="Request another review from Meta (rejected items)", permissions=["operate"])
def request_another_review(modeladmin, request, queryset: QuerySet) -> None:
    """Queue Meta's additional review for the selected rejected variants (or the variants of selected products)."""
    variants = Variant.objects.filter(product__in=queryset.values("pk")) if queryset.model is Product else queryset
    variants = Variant.objects.filter(pk__in=variants.values("pk"))
    queued, skipped = rereview.request_review(variants, by=request.user.get_username())
    for catalog_id in (
        ReReviewRequest.objects.filter(variant__in=variants, state=ReReviewRequest.State.QUEUED)
        .values_list("catalog_id", flat=True)
        .distinct()
    ):
        enqueue("catalog.tasks.rereview_catalog", catalog_id, group=f"rereview:{catalog_id}")
    note = (
        f"; {skipped} skipped (not rejected in Meta's review, or asked once already: Meta allows one)"
        if skipped
        else ""
    )
    modeladmin.message_user(
        request, f"Queued {queued} item(s) for another review{note}.", messages.SUCCESS if queued else messages.WARNING
    )


@admin.register(ReReviewRequest)
class ReReviewRequestAdmin(TenantScopedAdmin):
    """The re-review queue: what waits for Meta's additional review, what was sent, what Meta refused."""

    list_display = ("variant", "state", "reason", "requested_by", "created_at", "sent_at", "catalog", "tenant")
    list_filter = ("state", "reason", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "catalog", "variant", "variant__product")
    readonly_fields = (
        "variant",
        "catalog",
        "state",
        "reason",
        "requested_by",
        "message",
        "created_at",
        "sent_at",
        "error",
    )
    fields = ("tenant", *readonly_fields)
    ordering = ("-created_at", "-pk")
