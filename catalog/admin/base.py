"""Building blocks every Galantis admin uses: tenant scoping, write-only secrets, status badges.

Scoping has one choke point: ``get_queryset`` goes through ``for_user``. Django routes
the change, delete and history views (``get_object``), actions (the changelist's
queryset), search and filters through it, and the autocomplete view through the
related admin's ``get_queryset``; foreign-key dropdowns are scoped here too, the
classic leak. Another tenant's object by id is therefore a 404, never its data.
"""

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Membership, Tenant, TenantQuerySet, Variant, mask_secret
from catalog.models.tenancy import TenantManagerQuerySet


def member_tenant_ids(request) -> list[int]:
    """Ids of the tenants the (non-superuser) user is a member of, read once per request."""
    if not hasattr(request, "_member_tenant_ids"):
        request._member_tenant_ids = sorted(
            Membership.objects.filter(user=request.user).values_list("tenant_id", flat=True)
        )
    return request._member_tenant_ids


def scope_for_user(queryset: models.QuerySet, request) -> models.QuerySet:
    """``queryset.for_user(user)`` for tenant data; other querysets unchanged.

    The standard scopes are applied with the user's tenant ids written into the query
    (``tenant_id = 5`` rather than ``tenant_id IN (SELECT ... FROM membership)``): the
    same rows, but the planner can then walk the tenant's index in id order instead of
    sorting all of a tenant's rows for every changelist page. A queryset with its own
    ``for_user`` keeps it.
    """
    if not hasattr(queryset, "for_user"):
        return queryset
    user = request.user
    own_scope = type(queryset).for_user
    if user.is_superuser or not user.is_authenticated:
        return queryset.for_user(user)
    if own_scope is TenantQuerySet.for_user:
        ids = member_tenant_ids(request)
        if len(ids) == 1:
            return queryset.filter(tenant_id=ids[0])
        return queryset.filter(tenant_id__in=ids)  # none when there is no membership
    if own_scope is TenantManagerQuerySet.for_user:
        return queryset.filter(pk__in=member_tenant_ids(request))
    return queryset.for_user(user)


def visible_tenants(request) -> models.QuerySet[Tenant]:
    """Tenants the requesting user may see (all of them for a superuser)."""
    return scope_for_user(Tenant.objects.all(), request)


def visible_tenant_count(request) -> int:
    """How many tenants the user may see, counted once per request."""
    if not hasattr(request, "_visible_tenant_count"):
        if request.user.is_superuser:
            request._visible_tenant_count = visible_tenants(request).count()
        else:
            request._visible_tenant_count = len(member_tenant_ids(request))
    return request._visible_tenant_count


class TenantRelatedOnlyFilter(admin.RelatedOnlyFieldListFilter):
    """A related-object filter that lists only the related rows the user may see.

    Django's ``RelatedOnlyFieldListFilter`` finds them with ``SELECT DISTINCT fk`` over
    the listed table, a full scan on a million variants; this reads the small related
    table (tenants, stores, catalogs) scoped with ``for_user`` instead. A single
    choice hides the filter, so one-tenant staff never see a pointless tenant filter.
    """

    def field_choices(self, field, request, model_admin):
        visible = scope_for_user(field.related_model._default_manager.all(), request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": visible.values("pk")}, ordering=ordering
        )


def https_formfield(db_field: models.Field, **kwargs) -> forms.Field | None:
    """``Meta.formfield_callback`` for hand-written model forms: URL fields assume https."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class TenantConsistentForm(forms.ModelForm):
    """Refuse related objects of another tenant than the object's own.

    Dropdowns already list only visible tenants' rows; a user in two tenants could still
    pick tenant A's store for tenant B's product, which this catches.
    """

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or (self.instance.tenant if self.instance.tenant_id else None)
        if tenant is None:
            return cleaned
        for name, field in self.fields.items():
            value = cleaned.get(name)
            if name == "tenant" or not isinstance(field, forms.ModelChoiceField) or value is None:
                continue
            values = value if isinstance(field, forms.ModelMultipleChoiceField) else [value]
            if any(getattr(v, "tenant_id", tenant.pk) != tenant.pk for v in values):
                self.add_error(name, f"Choose one that belongs to tenant {tenant}.")
        return cleaned


class IdsFirstPaginator(Paginator):
    """Fetch a page's primary keys first, then those rows: a "deferred join".

    A changelist page of a big table is ``WHERE tenant_id = 5 ORDER BY id DESC LIMIT 50``
    with the select_related joins. PostgreSQL's planner may then walk the primary key
    backwards and filter (fine when the tenant's rows are the newest, a scan of every
    newer row of other tenants when they are not). Asking for the ids alone lets it
    answer from the (tenant, id) index without touching the table; the 50 rows then
    come by primary key.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {obj.pk: obj for obj in self.object_list.filter(pk__in=ids).order_by()}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class NotFoundIs404Mixin:
    """Answer 404 for an object id the user cannot reach, whether missing or another tenant's.

    Django's admin would redirect to the index with "doesn't exist" instead; one plain
    404 for both cases tells nothing about other tenants' ids.
    """

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with that id.")
        return obj


class TenantScopedAdmin(NotFoundIs404Mixin, admin.ModelAdmin):
    """Base admin for tenant-owned models: a staff user sees only their tenants' rows."""

    form = TenantConsistentForm
    # Shopify and Meta URLs are all https; also settles Django 6.0's change of default scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ("tenant",)
    # No second COUNT(*) over the whole table on every changelist page.
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_for_user(db_field.related_model._default_manager.all(), request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_for_user(db_field.related_model._default_manager.all(), request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_display(self, request):
        # One visible tenant (most staff): a tenant column would say the same on every row.
        display = super().get_list_display(request)
        if "tenant" in display and visible_tenant_count(request) <= 1:
            display = [name for name in display if name != "tenant"]
        return display

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not any(f == "tenant" or (isinstance(f, tuple) and f[0] == "tenant") for f in filters):
            filters.insert(0, ("tenant", TenantRelatedOnlyFilter))
        return filters

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Moving rows between tenants would orphan their relations: the tenant is fixed once saved.
        if obj is not None and "tenant" not in readonly:
            readonly.append("tenant")
        return readonly

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "tenant" not in initial and not request.user.is_superuser:
            tenant_ids = member_tenant_ids(request)
            if len(tenant_ids) == 1:
                initial["tenant"] = tenant_ids[0]
        return initial


class TenantScopedInline:
    """Mixin for inlines: same row and dropdown scoping as :class:`TenantScopedAdmin`."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_for_user(db_field.related_model._default_manager.all(), request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class WriteOnlySecretField(forms.CharField):
    """A password-style input for a stored secret: never rendered back, blank keeps the old one."""

    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "size": 60})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", True)
        super().__init__(*args, **kwargs)

    def has_changed(self, initial, data) -> bool:
        # Only a typed value is a change; the stored secret is never part of the page.
        return bool(data)


class SecretFieldsForm(TenantConsistentForm):
    """A model form whose ``secret_fields`` are write-only and shown only as ``••••last4``.

    The stored value is removed from the form's initial data (so no widget, hidden
    input or error page can echo it) and restored at clean time when left blank.
    """

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name not in self.fields:
                continue
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            self.initial[name] = ""
            hint = mask_secret(stored)
            self.fields[name].help_text = (
                f"Stored: {hint}. Type a new value to replace it; leave blank to keep it."
                if hint
                else "Nothing stored yet."
            )

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in self.fields and not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


BADGE_CLASS = {
    Variant.SyncStatus.PENDING: "pending",
    Variant.SyncStatus.SYNCED: "synced",
    Variant.SyncStatus.FAILED: "failed",
}


def status_badge(status: str, *, title: str = "", text: str | None = None) -> str:
    """A coloured PENDING / SYNCED / FAILED badge (styles in ``catalog/admin.css``)."""
    label = text if text is not None else Variant.SyncStatus(status).label.upper()
    return format_html(
        '<span class="meta-badge meta-badge-{}" title="{}">{}</span>', BADGE_CLASS.get(status, "unknown"), title, label
    )


def status_count_badges(counts: dict[str, int], query: str = "") -> str:
    """``SYNCED 12`` style badges, one per status, each linking to those variants.

    ``query`` narrows the linked variant list (e.g. ``product__id__exact=3``).
    """
    url = reverse("admin:catalog_variant_changelist")
    prefix = f"{url}?{query}&" if query else f"{url}?"
    return format_html_join(
        " ",
        '<a href="{}meta_status__exact={}">{}</a>',
        (
            (prefix, status, status_badge(status, text=f"{label.upper()} {counts.get(status, 0)}"))
            for status, label in Variant.SyncStatus.choices
        ),
    )
