"""The drift report: what the read-back of Meta found (catalog.sync.drift) and the fixes staff choose."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Catalog, DriftFinding
from catalog.sync import drift
from catalog.sync.push_requests import request_push
from galantis.queue import enqueue

from .base import TenantRelatedOnlyFilter, TenantScopedAdmin


def _by_catalog(queryset) -> dict[Catalog, list[DriftFinding]]:
    grouped: dict[int, list[DriftFinding]] = {}
    for finding in queryset.select_related("catalog__connection"):
        grouped.setdefault(finding.catalog_id, []).append(finding)
    return {findings[0].catalog: findings for findings in grouped.values()}


@admin.action(description="Send our payload again (drifted items)", permissions=["operate"])
def repush(modeladmin, request, queryset):
    done = drift.repush_drifted(queryset.filter(kind=DriftFinding.Kind.DRIFT))
    for catalog_id in set(queryset.values_list("catalog_id", flat=True)):
        request_push(catalog_id, now=True)
    modeladmin.message_user(
        request, f"{done} drifted item(s) marked to be sent again; a push is queued.", messages.SUCCESS
    )


@admin.action(description="Hide in Meta (ghosts: visibility staging)", permissions=["operate"])
def hide_in_meta(modeladmin, request, queryset):
    queued = 0
    for catalog, findings in _by_catalog(queryset.filter(kind=DriftFinding.Kind.GHOST)).items():
        # Meta is never called from a request: the task does it.
        enqueue(
            "catalog.tasks.hide_drift_ghosts",
            catalog.pk,
            [f.pk for f in findings],
            request.user.pk,
            group=f"drift:{catalog.pk}",
        )
        queued += len(findings)
    modeladmin.message_user(request, f"Hiding {queued} ghost item(s) in Meta (visibility staging).", messages.SUCCESS)


@admin.action(description="Delete from Meta (ghosts; asks first)", permissions=["manage_connection"])
def delete_from_meta(modeladmin, request, queryset):
    ghosts = queryset.filter(kind=DriftFinding.Kind.GHOST).exclude(state=DriftFinding.State.FIXED)
    if request.POST.get("confirmed") != "yes":
        # Like Django's own delete_selected: a page that names what goes, and a second POST.
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Delete these items from Meta?",
            "opts": modeladmin.model._meta,
            "findings": ghosts.select_related("catalog")[:500],
            "selected": queryset.values_list("pk", flat=True),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "delete_from_meta",
        }
        return TemplateResponse(request, "admin/catalog/driftfinding/delete_from_meta.html", context)
    queued = 0
    for catalog, findings in _by_catalog(ghosts).items():
        queued += drift.delete_ghosts(catalog, findings, user=request.user)
    modeladmin.message_user(
        request,
        f"{queued} ghost item(s) queued for deletion; each is confirmed when Meta has done it.",
        messages.SUCCESS,
    )
    return None


@admin.action(description="Dismiss (expected: keep as it is)", permissions=["operate"])
def dismiss(modeladmin, request, queryset):
    done = drift.dismiss(queryset, user=request.user)
    modeladmin.message_user(
        request, f"{done} finding(s) dismissed; they stay dismissed when seen again.", messages.SUCCESS
    )


@admin.register(DriftFinding)
class DriftFindingAdmin(TenantScopedAdmin):
    """Ghosts, drift and duplicate catalogs, with the fix each one takes."""

    list_display = (
        "kind_short",
        "state",
        "retailer_id",
        "variant_link",
        "what_differs",
        "times_found",
        "last_found_at",
        "catalog",
    )
    list_filter = ("state", "kind", ("catalog", TenantRelatedOnlyFilter))
    list_select_related = ("tenant", "catalog", "variant")
    search_fields = ("=retailer_id", "=meta_item_id")
    actions = (repush, hide_in_meta, delete_from_meta, dismiss)
    readonly_fields = (
        "tenant",
        "catalog",
        "kind",
        "state",
        "retailer_id",
        "meta_item_id",
        "variant_link",
        "what_differs",
        "meta_values",
        "times_found",
        "first_found_at",
        "last_found_at",
        "resolved_at",
        "resolution",
        "resolved_by",
    )
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False  # written by the drift scan only

    @admin.display(description="Kind", ordering="kind")
    def kind_short(self, obj: DriftFinding) -> str:
        return obj.get_kind_display().split(":")[0]

    @admin.display(description="Variant")
    def variant_link(self, obj: DriftFinding) -> str:
        if not obj.variant_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:catalog_variant_change", args=[obj.variant_id]), obj.variant_id
        )

    @admin.display(description="What differs")
    def what_differs(self, obj: DriftFinding) -> str:
        if obj.kind == DriftFinding.Kind.DRIFT:
            return (
                format_html_join(
                    ", ",
                    "{}: ours {} / Meta {}",
                    ((d.get("field"), d.get("ours"), d.get("meta")) for d in obj.differences),
                )
                or "—"
            )
        if obj.kind == DriftFinding.Kind.DUPLICATE_CATALOG:
            return f"catalog {obj.meta_values.get('name', '')!r} holds item {obj.meta_values.get('sample', '')}"
        return ", ".join(f"{k}: {v}" for k, v in obj.meta_values.items()) or "—"
