"""Admin for products (Meta item groups), variants (Meta items) and product sets.

Built for a million variants: ordering by primary key, no full COUNT(*), related
filters read their small tables, per-row status counts come from one grouped query
per page, and search uses exact, indexed lookups for ids. Staff edits that change
what Meta sees re-run ``refresh_variants`` so the variants become PENDING (or FAILED
with a reason) right away.
"""

import functools
import json
from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin.views.main import (
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.db.models import Count, Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, smart_split, unescape_string_literal

from catalog import item_state, items, timeline
from catalog.models import Product, ProductSet, Variant, VariantEvent, VariantStateCount
from catalog.sync import product_sets
from galantis.queue import enqueue

from .base import (
    IdsFirstPaginator,
    TenantConsistentForm,
    TenantRelatedOnlyFilter,
    TenantScopedAdmin,
    TenantScopedInline,
    member_tenant_ids,
    scope_for_user,
    status_badge,
    status_count_badges,
    titled_choices_filter,
)
from .changelist import TenantChangeList
from .sync_actions import repush_variants
from .timeline import TimelineMixin, request_another_review
from .whatsapp import ChosenProductsMessageMixin, ProductSetMessageMixin
from .widgets import JsonColumnsMixin

# Rows per UPDATE in bulk actions: far below SQLite's limit on query parameters.
ACTION_CHUNK = 500
# An exact SKU / id rarely matches more than a handful of rows; more are not listed.
EXACT_MATCH_LIMIT = 500
# Longest an error stays in a list cell; the full text is in the badge's tooltip.
ERROR_PREVIEW_CHARS = 90


def problem_preview(variant: Variant) -> str:
    """The start of the variant's last error (the whole text is in the badge's tooltip)."""
    return Truncator(variant.last_error).chars(ERROR_PREVIEW_CHARS) or "—"


# Meta's verdict as a badge: (css suffix, text). The same split as health_counts(): an
# excluded variant is "not sent" whatever its push status; the verdict is read only for
# SYNCED variants, and one not read yet is in review.
VERDICT_BADGES = {
    Variant.Verdict.LIVE: ("live", "LIVE"),
    Variant.Verdict.REJECTED: ("rejected", "REJECTED IN REVIEW"),
    Variant.Verdict.NOT_VISIBLE: ("not-visible", "NOT VISIBLE"),
}


def verdict_badge(variant: Variant) -> str:
    """Meta's verdict on the item (live / not visible / rejected / in review), or why there is none."""
    if variant.catalog_id is None:
        return format_html(
            '<span class="meta-badge meta-badge-nocatalog" title="{}">NO CATALOG</span>',
            "Its store has no Meta catalog: nothing sends it.",
        )
    if variant.excluded:
        return format_html(
            '<span class="meta-badge meta-badge-excluded" title="{}">NOT SENT</span>',
            "Draft, archived, unpublished, excluded or deleted: not to be live in Meta.",
        )
    if variant.meta_status != Variant.SyncStatus.SYNCED:
        return "—"
    css, text = VERDICT_BADGES.get(variant.verdict, ("review", "IN REVIEW"))
    why = item_state.not_visible_reason(variant)
    title = f"Meta's review: {item_state.review_label(variant.review_status)}" + (f". {why}" if why else "")
    return format_html('<span class="meta-badge meta-badge-{}" title="{}">{}</span>', css, title, text)


# Who said a variant's last error: Meta (its rejections) or Galantis (our checks, the connection).
META_SOURCES = (Variant.FailureSource.META_BATCH, Variant.FailureSource.META_FEED, Variant.FailureSource.META_REVIEW)


class VerdictFilter(admin.SimpleListFilter):
    """Variants by Meta's verdict, counted as the health page counts them (``health_counts()``)."""

    title = "Meta's verdict"
    parameter_name = "verdict"
    SHOWN = Q(meta_status=Variant.SyncStatus.SYNCED, excluded=False)
    CHOICES = {
        "live": ("Live", SHOWN & Q(verdict=Variant.Verdict.LIVE)),
        "not_visible": (
            "Synced but not visible",
            SHOWN & Q(verdict__in=(Variant.Verdict.NOT_VISIBLE, Variant.Verdict.REJECTED)),
        ),
        "rejected": ("… rejected in Meta's review", SHOWN & Q(verdict=Variant.Verdict.REJECTED)),
        "in_review": (
            "In Meta's review (or not read yet)",
            SHOWN & ~Q(verdict__in=(Variant.Verdict.LIVE, Variant.Verdict.NOT_VISIBLE, Variant.Verdict.REJECTED)),
        ),
        "not_sent": ("Not sent (excluded)", Q(excluded=True)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.CHOICES.items()]

    def queryset(self, request, queryset):
        if self.value() in self.CHOICES:
            return queryset.filter(self.CHOICES[self.value()][1])
        return queryset


class IndexedSearchMixin:
    """Changelist search that stays fast on a million variants.

    Django's search compares ids as text (a CAST: a full scan), and a search field
    across a multi-valued relation (a product's variants' SKUs) joins every variant and
    adds DISTINCT to the whole changelist query. Here each admin says what a term
    matches: ``exact_match`` (ids, SKUs, retailer ids: equality, so the tenant-leading
    indexes answer it) and ``text_match`` (substrings, one Q per word, relations as
    ``IN`` subqueries), and a term of ``ID_DIGITS`` or more digits is taken for an id
    and matched exactly only. No join multiplies rows, so no DISTINCT.
    """

    # Shopify and Meta ids have 13-17 digits; shorter numbers may be part of a SKU or title.
    ID_DIGITS = 8

    def exact_match(self, request, term: str) -> Q:
        raise NotImplementedError

    def text_match(self, request, word: str) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = self.exact_match(request, term)
        if not (term.isdigit() and len(term) >= self.ID_DIGITS):
            words = Q()
            for word in smart_split(term):
                if word[0] in "\"'" and word[0] == word[-1]:
                    word = unescape_string_literal(word)
                words &= self.text_match(request, word)
            match |= words
        return queryset.filter(match), False


def exact_ids(queryset, field: str) -> list[int]:
    """The (few) ids an exact match found, as a list.

    Written into the outer query as ``IN (1, 2)`` they let PostgreSQL OR the indexed
    conditions together (a BitmapOr); as a subquery it would filter every row instead.
    """
    return list(queryset.values_list(field, flat=True)[:EXACT_MATCH_LIMIT])


def as_id(term: str) -> int | None:
    """``term`` as a Shopify id (a positive 64-bit integer), or None."""
    return int(term) if term.isdigit() and int(term) < 2**63 else None


# The push status, titled as the column is ("Sent to Meta"), not "By meta status".
SentToMetaFilter = titled_choices_filter("sent to Meta")
# Who found the problem: our checks before sending, Meta's answer, Meta's review, the connection.
ProblemTypeFilter = titled_choices_filter("problem type")


class MetaStatusFilter(admin.SimpleListFilter):
    """Products with at least one variant in the chosen Meta status."""

    title = "Meta status"
    parameter_name = "meta_status"

    def lookups(self, request, model_admin):
        return [(status, f"Has {label.lower()} variants") for status, label in Variant.SyncStatus.choices]

    def queryset(self, request, queryset):
        if self.value() in Variant.SyncStatus.values:
            # Read the (tenant, meta_status) index once rather than probe every product's variants.
            variants = scope_for_user(Variant.objects.filter(meta_status=self.value()), request)
            return queryset.filter(pk__in=variants.values("product_id"))
        return queryset


class ProductChangeList(TenantChangeList):
    """Attach each listed product's variant status counts with one grouped query per page."""

    def get_results(self, request):
        super().get_results(request)
        products = list(self.result_list)  # evaluates (and caches) this page only
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        rows = (
            Variant.objects.filter(product_id__in=[p.pk for p in products])
            .order_by()
            .values_list("product_id", "meta_status")
            .annotate(n=Count("*"))
        )
        for product_id, status, n in rows:
            counts[product_id][status] = n
        for product in products:
            product.status_counts = counts.get(product.pk, {})


class VariantStatusColumns:
    """A variant's columns in every admin that lists variants: its push status, Meta's verdict, its problem."""

    @admin.display(description="Sent to Meta", ordering="meta_status")
    def status(self, obj: Variant) -> str:
        return status_badge(obj.meta_status, title=obj.last_error)

    @admin.display(description="Meta's verdict")
    def verdict_badge(self, obj: Variant) -> str:
        return verdict_badge(obj)

    @admin.display(description="Problem")
    def problem(self, obj: Variant) -> str:
        return problem_preview(obj)


class VariantInline(VariantStatusColumns, TenantScopedInline, admin.TabularInline):
    """A product's variants with their Meta badge; prices and stock editable, ids fixed."""

    model = Variant
    fk_name = "product"
    extra = 0
    can_delete = False  # variants come and go with Shopify
    show_change_link = True
    # Prices and stock are editable here; images, ids and the rest on the variant's own page.
    fields = (
        "status",
        "verdict_badge",
        "title",
        "sku",
        "price",
        "compare_at_price",
        "inventory_quantity",
        "inventory_policy",
        "problem",
    )
    # The retailer id is on the variant's page (and the badge's "Change" link leads there).
    readonly_fields = ("status", "verdict_badge", "title", "sku", "problem")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(TimelineMixin, JsonColumnsMixin, ChosenProductsMessageMixin, IndexedSearchMixin, TenantScopedAdmin):
    # Fits a 1366 px screen beside the filters: the variants' Meta status right after the title;
    # vendor, type and store are filters here and fields on the product's page.
    list_display = ("title", "meta_status", "status", "updated_at", "tenant")
    list_filter = (
        MetaStatusFilter,
        "status",
        ("store", TenantRelatedOnlyFilter),
        "product_type",
        "vendor",
        "excluded_from_meta",
    )
    list_select_related = ("tenant", "store")
    search_fields = ("title", "handle")  # see IndexedSearchMixin: exact SKUs and ids too
    search_help_text = "Words of the title or handle; or an exact SKU, Meta retailer id, Shopify product or variant id."
    ordering = ("-pk",)
    paginator = IdsFirstPaginator
    inlines = (VariantInline,)
    actions = ("exclude_from_meta", "include_in_meta", "recheck_meta_rules", request_another_review)
    readonly_fields = (
        "meta_status_summary",
        "shopify_link",
        "shopify_product_id",
        "image_links",
        "created_at",
        "updated_at",
        "timeline",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "store", "title", "status", "published", "meta_status_summary")}),
        (
            "From Shopify",
            {
                "fields": (
                    "shopify_product_id",
                    "shopify_link",
                    "handle",
                    "vendor",
                    "product_type",
                    "description_html",
                    "tags",
                    "image_links",
                ),
            },
        ),
        (
            "Meta-only fields",
            {
                "fields": (
                    "excluded_from_meta",
                    "fb_product_category",
                    "google_product_category",
                    ("gender", "age_group"),
                    ("custom_label_0", "custom_label_1", "custom_label_2"),
                    ("custom_label_3", "custom_label_4"),
                ),
                "description": "Sent to Meta only; Shopify does not have these fields.",
            },
        ),
        ("Timeline of its variants", {"fields": ("timeline",)}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def exact_match(self, request, term: str) -> Q:
        variants = Q(sku=term) | Q(retailer_id=term)
        match = Q()
        if (number := as_id(term)) is not None:
            variants |= Q(shopify_variant_id=number)
            match = Q(shopify_product_id=number)
        variant_rows = scope_for_user(Variant.objects.filter(variants), request)
        return match | Q(pk__in=exact_ids(variant_rows, "product_id"))

    def text_match(self, request, word: str) -> Q:
        return Q(title__icontains=word) | Q(handle__icontains=word)

    def get_queryset(self, request):
        # The change view shows the tenant and links to the store: fetch both with the product.
        return super().get_queryset(request).select_related("tenant", "store")

    def get_changelist(self, request, **kwargs):
        return ProductChangeList

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:  # a hand-made product needs its Shopify id
            readonly.remove("shopify_product_id")
        return readonly

    @admin.display(description="Meta status")
    def meta_status(self, obj: Product) -> str:
        counts = getattr(obj, "status_counts", None)
        if counts is None:
            counts = Variant.objects.filter(product=obj).status_counts()
        shown = [(status, counts[status]) for status in Variant.SyncStatus.values if counts.get(status)]
        if not shown:
            return "—"
        return format_html_join(
            " ", "{}", ((status_badge(status, text=f"{status} {n}" if n > 1 else status),) for status, n in shown)
        )

    @admin.display(description="Variants in Meta")
    def meta_status_summary(self, obj: Product) -> str:
        if obj.pk is None:
            return "—"
        return status_count_badges(Variant.objects.filter(product=obj).status_counts(), f"product__id__exact={obj.pk}")

    @admin.display(description="Store", ordering="store__name")
    def store_name(self, obj: Product) -> str:
        return obj.store.name or obj.store.shop_domain

    @admin.display(description="Images")
    def image_links(self, obj: Product) -> str:
        # Images come from Shopify (the first is the featured one, Meta's image_link).
        links = format_html_join(
            "",
            '<li><a href="{0}" target="_blank" rel="noopener">{0}</a></li>',
            ((image.get("src", ""),) for image in obj.images or [] if image.get("src")),
        )
        return format_html('<ol class="image-links">{}</ol>', links) if links else "— (Meta needs at least one)"

    @admin.display(description="In Shopify")
    def shopify_link(self, obj: Product) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.shopify_admin_url)

    def save_related(self, request, form, formsets, change):
        # After the inline variants are saved too: one refresh sees product and variant edits.
        super().save_related(request, form, formsets, change)
        edited = list(form.changed_data) + [
            f"variant {name}" for fs in formsets for f in fs.forms for name in f.changed_data
        ]
        if change and edited:  # the timeline of each variant: who changed what (one INSERT ... SELECT)
            timeline.record_from(
                Variant.objects.filter(product=form.instance),
                VariantEvent.Kind.STAFF_EDIT,
                detail={"by": request.user.get_username(), "fields": sorted(set(edited))},
            )
        changed = item_state.refresh_variants(Variant.objects.filter(product=form.instance))
        if changed and change:
            self.message_user(
                request,
                f"{changed} variant(s) changed for Meta; they are pending until the next sync.",
                messages.INFO,
            )

    @admin.action(description="Exclude selected products from Meta", permissions=["change"])
    def exclude_from_meta(self, request, queryset):
        self._set_excluded(request, queryset, True)

    @admin.action(description="Include selected products in Meta again", permissions=["change"])
    def include_in_meta(self, request, queryset):
        self._set_excluded(request, queryset, False)

    def _set_excluded(self, request, queryset, excluded: bool) -> None:
        # Ids first: the changelist's own filter may select on the flag being changed.
        ids = list(queryset.values_list("pk", flat=True))
        updated = changed = 0
        for start in range(0, len(ids), ACTION_CHUNK):
            chunk = ids[start : start + ACTION_CHUNK]
            updated += Product.objects.filter(pk__in=chunk).update(
                excluded_from_meta=excluded, updated_at=timezone.now()
            )
            changed += item_state.refresh_variants(Variant.objects.filter(product__in=chunk))
        verb = "Excluded" if excluded else "Included"
        self.message_user(
            request, f"{verb} {updated} product(s); {changed} variant(s) changed for Meta.", messages.SUCCESS
        )

    @admin.action(description="Recheck Meta's rules for selected products", permissions=["change"])
    def recheck_meta_rules(self, request, queryset):
        changed = item_state.refresh_variants(Variant.objects.filter(product__in=queryset.values("pk")))
        self.message_user(request, f"Rechecked; {changed} variant(s) changed status.", messages.SUCCESS)


class InFlightFilter(admin.SimpleListFilter):
    title = "in flight"
    parameter_name = "in_flight"

    def lookups(self, request, model_admin):
        return [("yes", "In a batch now"), ("no", "Not in a batch")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(in_flight_batch__isnull=False)
        if self.value() == "no":
            return queryset.filter(in_flight_batch__isnull=True)
        return queryset


@functools.lru_cache(maxsize=8)
def _product_change_url(script_prefix: str) -> str:
    """A product's change URL with ``{}`` for its id: one reverse(), not one per changelist row."""
    return reverse("admin:catalog_product_change", args=[0]).replace("/0/", "/{}/")


# Changelist parameters the maintained counts can answer; any other (a search, the store
# or in-flight filter, ...) makes the list COUNT its rows.
_COUNTED_FILTERS = {
    "meta_status__exact": lambda value: Q(meta_status=value) if value in Variant.SyncStatus.values else None,
    "catalog__id__exact": lambda value: Q(catalog_id=int(value)) if value.isdigit() and int(value) else None,
    "verdict": lambda value: VerdictFilter.CHOICES[value][1] if value in VerdictFilter.CHOICES else Q(),
}
_PRESENTATION_PARAMS = {ORDER_VAR, PAGE_VAR, IS_POPUP_VAR, TO_FIELD_VAR, IS_FACETS_VAR}


def maintained_list_count(request, tenant_ids: list[int] | None) -> int | None:
    """The variant list's row count read from ``VariantStateCount``; None when it cannot say.

    ``tenant_ids`` are the tenants the user sees (``None``: every tenant, a superuser).
    """
    condition = Q()
    for key, values in request.GET.lists():
        if key in _PRESENTATION_PARAMS or (key == SEARCH_VAR and not any(v.strip() for v in values)):
            continue
        if key not in _COUNTED_FILTERS or len(values) != 1:
            return None
        clause = _COUNTED_FILTERS[key](values[0])
        if clause is None:
            return None
        condition &= clause
    return VariantStateCount.objects.filter(condition).total(tenant_ids)


@admin.register(Variant)
class VariantAdmin(VariantStatusColumns, TimelineMixin, JsonColumnsMixin, IndexedSearchMixin, TenantScopedAdmin):
    # What staff open the list for comes first and fits a 1366 px screen beside the filters:
    # the two statuses and the problem, then which variant it is (its link). Ids, SKU, price
    # and stock are on the variant's page.
    list_display = ("status", "verdict_badge", "problem", "variant", "tenant")
    list_display_links = ("variant",)
    list_filter = (
        ("meta_status", SentToMetaFilter),
        VerdictFilter,
        ("failure_source", ProblemTypeFilter),
        ("catalog", TenantRelatedOnlyFilter),
        ("product__store", TenantRelatedOnlyFilter),
        InFlightFilter,
        "inventory_policy",
    )
    list_select_related = ("tenant", "product")
    search_fields = ("sku", "product__title")  # see IndexedSearchMixin: exact ids too
    search_help_text = (
        "Part of a SKU or words of the product title; or an exact Meta retailer id, Shopify variant or product id."
    )
    ordering = ("-pk",)
    paginator = IdsFirstPaginator
    autocomplete_fields = ("product",)
    actions = ("recheck_meta_rules", repush_variants, request_another_review)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """The list's count from the maintained counts when its filters are states (a COUNT otherwise)."""
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        counted = maintained_list_count(request, member_tenant_ids(request) if not request.user.is_superuser else None)
        if counted is not None:
            paginator.count = counted  # Paginator.count is a cached_property: no COUNT(*) then
        return paginator

    readonly_fields = (
        "status",
        "retailer_id",
        "meta_item_id",
        "synced_hash",
        "payload_hash",
        "in_flight_batch",
        "failure_source",
        "error_said",
        "our_fix",
        "last_error_code",
        "previous_id",
        "accepted_by_meta",
        "verdict_badge",
        "review",
        "why_not_visible",
        "visibility",
        "image_fetch_status",
        "channel_review",
        "verdict_checked_at",
        "meta_payload",
        "created_at",
        "updated_at",
        "timeline",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "product", "catalog", "status", "failure_source", "error_said", "our_fix")}),
        (
            "Meta's verdict (what Meta shows, read back from Meta)",
            {
                "fields": (
                    "verdict_badge",
                    "review",
                    "why_not_visible",
                    ("visibility", "image_fetch_status"),
                    "channel_review",
                    "verdict_checked_at",
                ),
            },
        ),
        (
            "From Shopify",
            {
                "fields": (
                    "shopify_variant_id",
                    "title",
                    "sku",
                    "options",
                    "position",
                    ("price", "compare_at_price"),
                    ("inventory_quantity", "inventory_policy", "inventory_tracked"),
                    "inventory_item_id",
                    "image_url",
                ),
            },
        ),
        (
            "Meta",
            {
                "fields": (
                    "retailer_id",
                    "meta_item_id",
                    "previous_id",
                    "last_error_code",
                    "accepted_by_meta",
                    "in_flight_batch",
                    "payload_hash",
                    "synced_hash",
                    "meta_payload",
                ),
            },
        ),
        ("Timeline", {"fields": ("timeline",)}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def exact_match(self, request, term: str) -> Q:
        match = Q(sku=term) | Q(retailer_id=term)
        if (number := as_id(term)) is not None:
            products = scope_for_user(Product.objects.filter(shopify_product_id=number), request)
            match |= Q(shopify_variant_id=number) | Q(product_id__in=exact_ids(products, "pk"))
        return match

    def text_match(self, request, word: str) -> Q:
        products = scope_for_user(Product.objects.filter(title__icontains=word), request)
        return Q(sku__icontains=word) | Q(product_id__in=products.values("pk"))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:  # Shopify's identity of the variant never changes here
            readonly += ["product", "shopify_variant_id"]
        return readonly

    @admin.display(description="Meta's review status")
    def review(self, obj: Variant) -> str:
        reasons = ", ".join(str(r) for r in obj.review_rejection_reasons or [])
        label = item_state.review_label(obj.review_status)
        return f"{label} ({reasons})" if reasons else label

    @admin.display(description="Error")
    def error_said(self, obj: Variant) -> str:
        """The last error, saying who said it: only Meta's rejections are quoted as Meta's."""
        if not obj.last_error:
            return "—"
        metas = obj.failure_source in META_SOURCES and obj.last_error_code != "FEED_UNCONFIRMED"
        return f"{'Meta says' if metas else 'Galantis found'}: {obj.last_error}"

    @admin.display(description="Fix (our words)")
    def our_fix(self, obj: Variant) -> str:
        return obj.last_error_fix or "—"

    @admin.display(description="Why not visible")
    def why_not_visible(self, obj: Variant) -> str:
        if obj.excluded or obj.meta_status != Variant.SyncStatus.SYNCED:
            return "—"
        return item_state.not_visible_reason(obj) or "—"

    @admin.display(description="Last accepted by Meta")
    def accepted_by_meta(self, obj: Variant) -> str:
        """When Meta accepted the version it holds; none for a variant never sent (or deleted from Meta)."""
        if not obj.synced_hash or obj.meta_deleted_at is not None or obj.synced_at is None:
            return "— (Meta holds no version of it)" if obj.pk else "—"
        when = date_format(timezone.localtime(obj.synced_at), "DATETIME_FORMAT")
        return when if obj.meta_status == Variant.SyncStatus.SYNCED else f"{when} (an older version)"

    @admin.display(description="Product", ordering="product__title")
    def product_link(self, obj: Variant) -> str:
        url = _product_change_url(get_script_prefix()).format(obj.product_id)
        return format_html('<a href="{}">{}</a>', url, Truncator(obj.product.title).chars(60))

    @admin.display(description="Variant", ordering="product__title")
    def variant(self, obj: Variant) -> str:
        """The product's title and the variant's, with its SKU under them (the link to its page)."""
        # An f-string of escaped values (format_html's per-argument work was a visible share of the list).
        sku = f'<br><small class="quiet">SKU {escape(obj.sku)}</small>' if obj.sku else ""
        title = escape(Truncator(obj.product.title).chars(60))
        return mark_safe(f'{title}<span class="variant-of"> — {escape(obj.title)}</span>{sku}')

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "catalog" and formfield is not None:
            # Choosing the catalog is all this page does; editing or deleting one belongs on its own page
            # (the wrapper's delete icon beside the dropdown read as "delete this variant's catalog").
            widget = formfield.widget
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
            widget.can_view_related = False
        return formfield

    @admin.display(description="Stock", ordering="inventory_quantity")
    def stock(self, obj: Variant) -> int:
        return obj.inventory_quantity

    @admin.display(description="What Meta gets (items_batch data)")
    def meta_payload(self, obj: Variant) -> str:
        if obj.pk is None:
            return "—"
        item = items.meta_item(obj, obj.product, obj.product.store)
        return format_html("<pre>{}</pre>", json.dumps(item, indent=2, ensure_ascii=False))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:  # the timeline: who changed what
            timeline.record_one(
                obj,
                VariantEvent.Kind.STAFF_EDIT,
                detail={"by": request.user.get_username(), "fields": list(form.changed_data)},
            )
        if item_state.refresh_variants(Variant.objects.filter(pk=obj.pk)) and change:
            obj.refresh_from_db(fields=["meta_status"])
            self.message_user(request, f"What Meta sees changed: the variant is now {obj.meta_status}.", messages.INFO)

    @admin.action(description="Recheck Meta's rules for selected variants", permissions=["change"])
    def recheck_meta_rules(self, request, queryset):
        changed = item_state.refresh_variants(Variant.objects.filter(pk__in=queryset.values("pk")))
        self.message_user(request, f"Rechecked; {changed} variant(s) changed status.", messages.SUCCESS)


class ProductSetForm(TenantConsistentForm):
    """Staff-defined sets: a filter in Meta's grammar; collection sets come from Shopify (read-only)."""

    class Meta:
        model = ProductSet
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if "filter" in self.fields and (problem := product_sets.filter_problem(cleaned.get("filter"))):
            self.add_error("filter", problem)
        return cleaned


@admin.register(ProductSet)
class ProductSetAdmin(ProductSetMessageMixin, TenantScopedAdmin):
    """Product sets: Shopify collections (kept in step by the engine) and sets staff define by filter."""

    form = ProductSetForm
    list_display = (
        "name",
        "catalog",
        "tenant",
        "source",
        "meta_state",
        "item_counts",
        "publish_to_shops",
        "synced_at",
        "whatsapp_link",
    )
    list_filter = (("catalog", TenantRelatedOnlyFilter), "publish_to_shops", "needs_sync")
    list_select_related = ("tenant", "catalog")
    search_fields = ("name", "=meta_product_set_id")
    actions = ("sync_now", "refresh_meta_counts", "confirm_live_deletion")
    # Written by the engine or mirrored from Shopify: never typed by staff.
    status_fields = (
        "meta_product_set_id",
        "meta_state",
        "item_counts",
        "sync_error",
        "published_shop_id",
        "removed_at",
        "deletion_blocked_at",
        "live_deletion_confirmed_at",
        "synced_at",
        "created_at",
        "updated_at",
    )
    collection_fields = ("name", "catalog", "filter", "shopify_collection_id", "handle", "description", "image_url")
    fieldsets = (
        (None, {"fields": ("tenant", "catalog", "name", "filter", "publish_to_shops")}),
        ("Metadata in Meta", {"fields": ("shopify_collection_id", "handle", "description", "image_url")}),
        ("In Meta", {"fields": status_fields}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), *self.status_fields, "shopify_collection_id"]
        if obj is not None and obj.is_collection:
            readonly += [f for f in self.collection_fields if f not in readonly]
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        # A collection's set goes when the collection goes in Shopify (it would come back on import).
        if obj is not None and obj.is_collection:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="source")
    def source(self, obj: ProductSet) -> str:
        return "Shopify collection" if obj.is_collection else "Staff filter"

    @admin.display(description="in Meta")
    def meta_state(self, obj: ProductSet) -> str:
        if obj.removed_at and obj.deletion_blocked_at:
            return format_html(
                '<span class="meta-badge meta-badge-failed" title="{}">{}</span>',
                obj.sync_error,
                "KEPT: LIVE IN A SHOP",
            )
        if obj.removed_at:
            return status_badge(Variant.SyncStatus.PENDING, text="DELETING", title=obj.sync_error)
        if obj.needs_sync:
            return status_badge(Variant.SyncStatus.PENDING, title=obj.sync_error or "Waiting for the next run")
        if obj.sync_error and not obj.meta_product_set_id:
            return status_badge(Variant.SyncStatus.FAILED, title=obj.sync_error)
        if obj.sync_error:
            return status_badge(Variant.SyncStatus.SYNCED, text="SYNCED (SEE NOTE)", title=obj.sync_error)
        return status_badge(Variant.SyncStatus.SYNCED, title=f"Meta product set {obj.meta_product_set_id}")

    @admin.display(description="items: ours / Meta's")
    def item_counts(self, obj: ProductSet) -> str:
        ours = "—" if obj.item_count is None else f"{obj.item_count:,}"
        metas = "—" if obj.meta_product_count is None else f"{obj.meta_product_count:,}"
        differs = (
            obj.item_count is not None
            and obj.meta_product_count is not None
            and (obj.item_count != obj.meta_product_count)
        )
        title = "Meta counts what its filter matches now; items on their way or rejected differ." if differs else ""
        return format_html('<span title="{}">{} / {}</span>', title, ours, metas)

    def save_model(self, request, obj, form, change):
        obj.needs_sync, obj.changed_at = True, timezone.now()
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        self.delete_queryset(request, self.get_queryset(request).filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        """Staff sets Meta holds are deleted there first (by the engine), then here; the rest go now."""
        staff_sets = queryset.filter(shopify_collection_id__isnull=True)
        staff_sets.filter(meta_product_set_id="").delete()
        now = timezone.now()
        queued = staff_sets.exclude(meta_product_set_id="").update(removed_at=now, needs_sync=True, changed_at=now)
        for catalog_id in set(staff_sets.values_list("catalog_id", flat=True)):
            enqueue("catalog.tasks.sync_product_sets", catalog_id, group=f"product-sets:{catalog_id}")
        if queued:
            self.message_user(request, f"{queued} set(s) will be deleted from Meta, then here.", messages.INFO)

    def _queue_runs(self, queryset) -> int:
        catalog_ids = sorted(set(queryset.values_list("catalog_id", flat=True)))
        for catalog_id in catalog_ids:
            enqueue("catalog.tasks.sync_product_sets", catalog_id, group=f"product-sets:{catalog_id}")
        return len(catalog_ids)

    @admin.action(description="Send selected sets to Meta now", permissions=["operate"])
    def sync_now(self, request, queryset):
        marked = product_sets.mark_changed(queryset)
        catalogs = self._queue_runs(queryset)
        self.message_user(request, f"Queued {marked} set(s) in {catalogs} catalog(s).", messages.SUCCESS)

    @admin.action(description="Read Meta's product counts again", permissions=["operate"])
    def refresh_meta_counts(self, request, queryset):
        catalog_ids = sorted(set(queryset.values_list("catalog_id", flat=True)))
        for catalog_id in catalog_ids:
            enqueue("catalog.tasks.refresh_product_set_counts", catalog_id, group=f"product-sets:{catalog_id}")
        self.message_user(request, f"Queued a count of {len(catalog_ids)} catalog(s).", messages.SUCCESS)

    @admin.action(description="Delete from Meta even if live in a shop (confirm)", permissions=["edit"])
    def confirm_live_deletion(self, request, queryset):
        confirmed = product_sets.confirm_live_deletion(queryset)
        if not confirmed:
            self.message_user(request, "None of the selected sets is removed: nothing to confirm.", messages.WARNING)
            return
        self._queue_runs(queryset.filter(removed_at__isnull=False))
        self.message_user(
            request, f"Confirmed: {confirmed} set(s) will be deleted from Meta, even from the shop.", messages.SUCCESS
        )
