"""The Shopify store admin: connect a store, its secrets, imports, and its catalog flow.

Secrets (Admin API token, webhook secret) are write-only: owners get a password field that
keeps the stored value when left blank; pages show ``••••last4`` to owners and staff and only
"stored" to viewers. The "Connect a Shopify store" form is the admin twin of
``connect_shopify``; import actions queue work. Choosing or switching the store's catalog
(import / create / link) calls the same services as the WhatsApp Connection page, never
Meta inside the change form's transaction.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from catalog import permissions
from catalog.connection import flows, token_health
from catalog.connection.catalogs import CatalogInfo
from catalog.connection.forms import ChooseCatalogForm
from catalog.models import (
    Catalog,
    ImportRun,
    MetaConnection,
    ShopifyStore,
    Tenant,
    mask_secret,
)
from catalog.permissions import Action, can
from catalog.shopify.connect import ConnectError, connect_store, webhook_callback_url
from catalog.shopify.importer import ImportAlreadyRunning, start_import
from galantis.queue import enqueue

from .base import (
    SecretFieldsForm,
    TenantScopedAdmin,
    WriteOnlySecretField,
    admin_page,
    any_tenant_view,
    https_formfield,
    object_view,
    secret_hint,
)


class ConnectStoreForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    shop_domain = forms.CharField(label="Shop domain", help_text="e.g. my-shop.myshopify.com")
    access_token = forms.CharField(
        label="Admin API access token", widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "size": 60})
    )
    webhook_secret = forms.CharField(
        label="Webhook secret (app client secret)",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "size": 60}),
    )
    admin_url = forms.CharField(
        label="Admin API base URL",
        required=False,
        help_text="Without version. Blank: https://{shop}/admin/api. The sandbox's admin_url for a sandbox shop.",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    api_version = forms.CharField(label="API version", required=False, help_text="Blank: the default version.")

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
        if tenants.count() == 1:
            self.fields["tenant"].initial = tenants.first()


def _queue_import(modeladmin, request, queryset, *, bulk: bool) -> None:
    queued, busy = 0, []
    for store in queryset.filter(uninstalled_at__isnull=True):
        try:
            run = start_import(
                store, mode=ImportRun.Mode.BULK if bulk else ImportRun.Mode.PAGED, trigger=ImportRun.Trigger.ADMIN
            )
        except ImportAlreadyRunning:
            busy.append(store.shop_domain)
            continue
        enqueue("catalog.tasks.run_shopify_import", run.pk, group=f"shopify-import:{store.pk}")
        queued += 1
    if queued:
        url = reverse("admin:catalog_importrun_changelist")
        modeladmin.message_user(
            request, format_html('Queued {} import(s); follow them in <a href="{}">Import runs</a>.', queued, url)
        )
    if busy:
        modeladmin.message_user(request, f"Already importing: {', '.join(busy)}.", messages.WARNING)


@admin.action(description="Import from Shopify now (paged)", permissions=["operate"])
def import_now(modeladmin, request, queryset):
    _queue_import(modeladmin, request, queryset, bulk=False)


@admin.action(description="Import from Shopify now (bulk operation, large stores)", permissions=["operate"])
def bulk_import_now(modeladmin, request, queryset):
    _queue_import(modeladmin, request, queryset, bulk=True)


@admin.action(description="Check token and re-register webhooks", permissions=["manage_connection"])
def recheck_connection(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    for store_id in ids:
        enqueue("catalog.tasks.recheck_shopify_store", store_id, group=f"shopify-connect:{store_id}")
    modeladmin.message_user(request, f"Queued a connection check for {len(ids)} store(s).")


class ShopifyIngestionMixin:
    """For ShopifyStoreAdmin: the connect form (``connect/``) and the import actions."""

    actions = (import_now, bulk_import_now, recheck_connection)

    def get_urls(self):
        return [admin_page(self, "connect/", self.connect_view, "connect")] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if permissions.can_anywhere(request.user, Action.MANAGE_CONNECTION):
            extra_context = {**(extra_context or {}), "connect_url": reverse("admin:catalog_shopifystore_connect")}
        return super().changelist_view(request, extra_context=extra_context)

    @any_tenant_view(get=Action.MANAGE_CONNECTION, post=Action.MANAGE_CONNECTION)
    def connect_view(self, request: HttpRequest):
        """Connect (or reconnect) a store: a real ``shop`` query checks the token first.

        Only tenants the user may manage the connections of are offered; whether the shop
        is already another tenant's is told only after the token proved access to the shop.
        """
        tenants = permissions.allowed_tenants(request.user, Action.MANAGE_CONNECTION)
        form = ConnectStoreForm(request.POST or None, tenants=tenants)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = connect_store(
                    data["tenant"],
                    data["shop_domain"],
                    data["access_token"],
                    data["webhook_secret"],
                    admin_url=data["admin_url"],
                    api_version=data["api_version"],
                )
            except ConnectError as exc:
                form.add_error(None, str(exc))
            else:
                store = result.store
                self.message_user(
                    request,
                    f"Connected {store.shop_domain} ({store.name}, {store.currency}); webhooks: "
                    f"{len(result.subscriptions_created)} created, "
                    f"{len(result.subscriptions_existing)} already present.",
                    messages.SUCCESS,
                )
                for topic, error in result.subscriptions_failed.items():
                    self.message_user(request, f"Webhook {topic} failed: {error}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:catalog_shopifystore_change", args=[store.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Connect a Shopify store",
            "form": form,
            "callback_url": webhook_callback_url(),
        }
        return TemplateResponse(request, "admin/catalog/shopifystore/connect.html", context)


class StoreCatalogFlowMixin:
    """Adds ``<store>/catalog-connection/``: pick import / create / link for the store's catalog."""

    def get_urls(self):
        page = admin_page(self, "<int:pk>/catalog-connection/", self.catalog_connection_view, "catalog_connection")
        return [page] + super().get_urls()

    @object_view(get=Action.SEE_CONNECTION, post=Action.MANAGE_CONNECTION)
    def catalog_connection_view(self, request: HttpRequest, store: ShopifyStore):
        owner = can(request.user, Action.MANAGE_CONNECTION, store)
        connection = MetaConnection.objects.for_tenant(store.tenant_id).first()
        current = flows.current_catalog(store, store.tenant)
        plan = None
        form = ChooseCatalogForm(
            tenant=store.tenant,
            initial={
                "store": store.pk,
                "flow": current.flow if current else Catalog.Flow.IMPORT,
                "catalog_id": current.meta_catalog_id if current else "",
            },
        )
        if request.method == "POST":
            form = ChooseCatalogForm(request.POST, tenant=store.tenant)
            if form.is_valid():
                try:
                    catalog = flows.choose_catalog(
                        store.tenant, store=store, user=request.user, **form.flow_arguments()
                    )
                except flows.ConfirmationRequired as exc:
                    plan = exc.plan
                except flows.FlowError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    self.message_user(
                        request, f"{store} now uses “{catalog.name}” ({catalog.get_flow_display()}).", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:catalog_catalog_change", args=[catalog.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": store,
            "title": f"Catalog connection of {store}",
            "store": store,
            "connection": connection,
            "health": token_health.summary(store.tenant),
            "current": current,
            "available": [CatalogInfo.from_dict(c) for c in (connection.available_catalogs if connection else [])],
            "form": form,
            "plan": plan,
            "can_change": owner,
            "settings_url": token_health.settings_url(store.tenant),
        }
        return TemplateResponse(request, "admin/catalog/shopifystore/catalog_connection.html", context)


class ShopifyStoreForm(SecretFieldsForm):
    secret_fields = ("access_token", "webhook_secret")
    access_token = WriteOnlySecretField(label="Admin API access token")
    webhook_secret = WriteOnlySecretField(label="Webhook secret (app client secret)")

    class Meta:
        model = ShopifyStore
        fields = "__all__"
        formfield_callback = https_formfield


@admin.register(ShopifyStore)
class ShopifyStoreAdmin(ShopifyIngestionMixin, StoreCatalogFlowMixin, TenantScopedAdmin):
    form = ShopifyStoreForm
    secret_fields = ("access_token", "webhook_secret")
    list_display = (
        "shop_domain",
        "name",
        "tenant",
        "currency",
        "token",
        "connected_at",
        "products_link",
        "catalog_connection_link",
    )
    search_fields = ("shop_domain", "name")
    readonly_fields = ("token", "webhook_secret_hint", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("tenant", "shop_domain", "name", "currency", "primary_domain_url")}),
        (
            "Admin API",
            {
                "fields": (
                    "token",
                    "access_token",
                    "webhook_secret_hint",
                    "webhook_secret",
                    "admin_url",
                    "api_version",
                ),
                "description": "Secrets are stored encrypted and never shown again; only their last 4 characters.",
            },
        ),
        ("Lifecycle", {"fields": ("connected_at", "uninstalled_at", "created_at", "updated_at")}),
    )

    @admin.display(description="Access token")
    def token(self, obj: ShopifyStore) -> str:
        return secret_hint(obj, obj.token_hint)

    @admin.display(description="Webhook secret")
    def webhook_secret_hint(self, obj: ShopifyStore) -> str:
        return secret_hint(obj, mask_secret(obj.webhook_secret))

    @admin.display(description="Meta catalog")
    def catalog_connection_link(self, obj: ShopifyStore) -> str:
        url = reverse("admin:catalog_shopifystore_catalog_connection", args=[obj.pk])
        return format_html('<a href="{}">Import / create / link</a>', url)

    @admin.display(description="Products")
    def products_link(self, obj: ShopifyStore) -> str:
        url = reverse("admin:catalog_product_changelist") + f"?store__id__exact={obj.pk}"
        return format_html('<a href="{}">Products</a>', url)
