"""Building blocks every Galantis admin uses: tenant scoping, roles, write-only secrets, status badges.

Scoping has one choke point: ``get_queryset`` goes through ``for_user``. Django routes
the change, delete and history views (``get_object``), actions (the changelist's
queryset), search and filters through it, and the autocomplete view through the
related admin's ``get_queryset``; foreign-key dropdowns are scoped here too, the
classic leak. Another tenant's object by id is therefore a 404, never its data.

What a member may do with a row they can see is the role matrix's answer for the
row's tenant (``catalog.permissions.can``), asked by :class:`RoleCheckedAdmin`: its
``has_*_permission`` methods, every admin action (re-checked per selected row) and the
custom views decorated with :func:`object_view` / :func:`any_tenant_view`.
"""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import conditional_escape, escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from catalog import permissions
from catalog.models import Tenant, TenantQuerySet, Variant, mask_secret
from catalog.models.tenancy import TenantManagerQuerySet
from catalog.permissions import Action

from .changelist import TenantChangeList


def member_tenant_ids(request) -> list[int]:
    """Ids of the tenants the (non-superuser) user is a member of, read once per request."""
    return sorted(permissions.roles_of(request.user))


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


def secret_hint(obj: models.Model, hint: str) -> str:
    """``••••last4`` for users who may see the connection (``may_see_secrets``), else only whether one is stored."""
    if getattr(obj, "may_see_secrets", False):
        return hint or "—"
    return "stored" if hint else "—"


def admin_permission_allows(user, model_label: str, permission: str, obj: models.Model | None) -> bool:
    """May ``user`` use an admin ``permission`` of the model ``model_label`` on ``obj`` (any tenant when None)?

    The one answer for admins and inlines alike: the matrix action the permission maps to
    (``permissions.ADMIN_PERMISSIONS``), asked in ``obj``'s tenant; none mapped means superusers only.
    """
    action = permissions.admin_action(model_label, permission)
    if action is None:
        return permissions.is_superuser(user)
    if obj is None:
        return permissions.can_anywhere(user, action)
    return permissions.can(user, action, obj)


class RoleCheckedAdmin:
    """Admin permissions from the role matrix, asked for the object's own tenant.

    Without an object, ``has_*_permission(request)`` says whether the user may do it in
    any of their tenants (to offer the link, button or add form); with one, the role in
    that object's tenant decides. Actions check every selected row's tenant before they
    run (a changelist may mix tenants): one row not allowed refuses the whole action with
    403 and changes nothing. Fields named in ``secret_fields`` never reach a page the user
    cannot change (Django would print their value in a read-only box).
    """

    secret_fields: tuple[str, ...] = ()

    def admin_allows(self, request, permission: str, obj: models.Model | None = None) -> bool:
        """May the user use ``permission`` (view/add/change/delete or a matrix action) on ``obj``?"""
        return admin_permission_allows(request.user, self.opts.label_lower, permission, obj)

    def has_module_permission(self, request) -> bool:
        return self.admin_allows(request, "view")

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, "view", obj)

    def has_add_permission(self, request) -> bool:
        return self.admin_allows(request, "add")

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, "change", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, "delete", obj)

    # Admin actions declare these as ``@admin.action(permissions=["operate"])`` and so on.
    def has_operate_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, Action.OPERATE, obj)

    def has_edit_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, Action.EDIT, obj)

    def has_manage_connection_permission(self, request, obj=None) -> bool:
        return self.admin_allows(request, Action.MANAGE_CONNECTION, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {name: (self._checked_per_row(func), name, text) for name, (func, _, text) in actions.items()}

    def _checked_per_row(self, func: Callable) -> Callable:
        needed = getattr(func, "allowed_permissions", None) or ("change",)

        @wraps(func)
        def action(modeladmin, request, queryset):
            if modeladmin.rows_denied(request, needed, queryset):
                raise PermissionDenied("Your role in a selected row's tenant does not allow this action.")
            return func(modeladmin, request, queryset)

        return action

    def rows_denied(self, request, needed: tuple[str, ...], queryset: models.QuerySet) -> bool:
        """Is any row of ``queryset`` in a tenant where none of the ``needed`` permissions is the user's?"""
        user = request.user
        if permissions.is_superuser(user):
            return False
        allowed: set[int] = set()
        for permission in needed:
            action = permissions.admin_action(self.opts.label_lower, permission)
            if action is not None:
                allowed |= permissions.tenant_ids_allowing(user, action)
        field = "pk" if queryset.model is Tenant else "tenant_id"
        return queryset.exclude(**{f"{field}__in": sorted(allowed)}).exists()

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.secret_fields or obj is None or self.has_change_permission(request, obj):
            return fieldsets
        hidden = set(self.secret_fields)
        return [(name, {**options, "fields": _without(options["fields"], hidden)}) for name, options in fieldsets]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not self.secret_fields:
            return queryset
        # Read by secret_hint(): ••••last4 only where the role may see the connection.
        if permissions.is_superuser(request.user):
            may_see = models.Value(True)
        elif ids := sorted(permissions.tenant_ids_allowing(request.user, Action.SEE_CONNECTION)):
            may_see = models.Case(models.When(tenant_id__in=ids, then=models.Value(True)), default=models.Value(False))
        else:
            may_see = models.Value(False)
        return queryset.annotate(may_see_secrets=models.ExpressionWrapper(may_see, output_field=models.BooleanField()))

    def save_model(self, request, obj, form, change):
        # The form offered only allowed tenants; refuse anything else that slipped through.
        if not self.admin_allows(request, "change" if change else "add", obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


def _without(fields, hidden: set[str]) -> tuple:
    """``fields`` (names or tuples of names on one line) minus ``hidden``, empty lines dropped."""
    kept = []
    for field in fields:
        if isinstance(field, (list, tuple)):
            line = tuple(f for f in field if f not in hidden)
            if line:
                kept.append(line)
        elif field not in hidden:
            kept.append(field)
    return tuple(kept)


def titled_choices_filter(title: str) -> type[admin.ChoicesFieldListFilter]:
    """A filter on a field's choices titled ``title`` ("By <title>") instead of the field's verbose name."""

    class TitledChoicesFilter(admin.ChoicesFieldListFilter):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return TitledChoicesFilter


def admin_page(modeladmin: admin.ModelAdmin, route: str, view: Callable, name: str) -> URLPattern:
    """A page of the model admin's own at ``route``, reversed as ``admin:<app>_<model>_<name>``.

    Behind the admin site's login (``admin_view``); the view's own decorator
    (:func:`object_view`, :func:`any_tenant_view`) checks the role. A mixin's ``get_urls``
    puts its pages before ``super().get_urls()`` (whose ``<path:object_id>/`` would take them).
    """
    opts = modeladmin.opts
    return path(route, modeladmin.admin_site.admin_view(view), name=f"{opts.app_label}_{opts.model_name}_{name}")


def object_view(*, get: Action | None = None, post: Action | None = None) -> Callable:
    """A custom admin view on one object: ``view(self, request, obj)``, served at ``<pk>/...``.

    The object comes from the admin's ``get_queryset`` (404 for another tenant's), then the
    role in its tenant must allow ``get`` (GET/HEAD) or ``post`` (POST); a method with no
    action is 405. ``required_actions`` on the view says which, for the role tests.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(self, request, pk, *args, **kwargs):
            action = _action_for_method(request, get, post)
            if action is None:
                return HttpResponseNotAllowed([m for m, a in (("GET", get), ("POST", post)) if a])
            obj = get_object_or_404(self.get_queryset(request), pk=pk)
            if not permissions.can(request.user, action, obj):
                raise PermissionDenied
            return view(self, request, obj, *args, **kwargs)

        checked.required_actions = {"GET": get, "POST": post}
        checked.per_object = True
        return checked

    return decorate


def any_tenant_view(*, get: Action | None = None, post: Action | None = None) -> Callable:
    """A custom admin view on no one object: the role in at least one tenant must allow the action.

    The view itself then limits every tenant choice to :func:`catalog.permissions.allowed_tenants`.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(self, request, *args, **kwargs):
            action = _action_for_method(request, get, post)
            if action is None:
                return HttpResponseNotAllowed([m for m, a in (("GET", get), ("POST", post)) if a])
            if not permissions.can_anywhere(request.user, action):
                raise PermissionDenied
            return view(self, request, *args, **kwargs)

        checked.required_actions = {"GET": get, "POST": post}
        checked.per_object = False
        return checked

    return decorate


def _action_for_method(request, get: Action | None, post: Action | None) -> Action | None:
    if request.method in ("GET", "HEAD"):
        return get
    if request.method == "POST":
        return post
    return None


class TenantScopedAdmin(RoleCheckedAdmin, NotFoundIs404Mixin, admin.ModelAdmin):
    """Base admin for tenant-owned models: members see only their tenants' rows, and do what their role there allows."""

    form = TenantConsistentForm
    # Shopify and Meta URLs are all https; also settles Django 6.0's change of default scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ("tenant",)
    # No second COUNT(*) over the whole table on every changelist page.
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request)

    def get_changelist(self, request, **kwargs):
        return TenantChangeList

    def action_checkbox(self, obj):
        """Django's row checkbox, written directly: its widget template cost a third of a list page
        (and ``format_html``'s per-argument work, here on every row, a tenth of what was left)."""
        label = gettext("Select this object for an action - {}").format(escape(str(obj)))
        return mark_safe(
            f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}" value="{escape(str(obj.pk))}" '
            f'class="action-select" aria-label="{label}">'
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and db_field.name == "tenant" and db_field.related_model is Tenant:
            # Only on add forms (the tenant is read-only once saved): tenants where the role may add.
            kwargs["queryset"] = self.tenants_for_adding(request)
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_for_user(db_field.related_model._default_manager.all(), request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_for_user(db_field.related_model._default_manager.all(), request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def tenants_for_adding(self, request) -> models.QuerySet[Tenant]:
        """Tenants the user may add this model's rows to."""
        action = permissions.admin_action(self.opts.label_lower, "add")
        if action is None:
            return Tenant.objects.all() if permissions.is_superuser(request.user) else Tenant.objects.none()
        return permissions.allowed_tenants(request.user, action)

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
            tenant_ids = list(self.tenants_for_adding(request).values_list("pk", flat=True)[:2])
            if len(tenant_ids) == 1:
                initial["tenant"] = tenant_ids[0]
        return initial


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows the system writes (batches, import runs, reports, alerts): nobody adds, edits or deletes them here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TenantScopedInline:
    """Mixin for inlines: same row and dropdown scoping as :class:`TenantScopedAdmin`, and the
    same roles, asked for the parent object's tenant (the inline rows' own)."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def inline_allows(self, request, permission: str, obj: models.Model | None) -> bool:
        return admin_permission_allows(request.user, self.opts.label_lower, permission, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.inline_allows(request, "view", obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self.inline_allows(request, "add", obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.inline_allows(request, "change", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.inline_allows(request, "delete", obj)

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
    # An f-string of escaped values: shown in every row of the variant lists, where format_html's
    # per-argument work was a visible share of the page.
    return mark_safe(
        f'<span class="meta-badge meta-badge-{BADGE_CLASS.get(status, "unknown")}" title="{conditional_escape(title)}">'
        f"{conditional_escape(label)}</span>"
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
