"""Admin for tenants and who may work on them."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Membership, Tenant

from .base import NotFoundIs404Mixin, RoleCheckedAdmin, TenantScopedAdmin, TenantScopedInline, visible_tenants


def _users_sharing_a_tenant(request):
    """Users the requesting user may pick: everyone for a superuser, else fellow members."""
    users = get_user_model()._default_manager.all()
    if request.user.is_superuser:
        return users
    return users.filter(memberships__tenant__in=visible_tenants(request).values("pk")).distinct()


class MembershipInline(TenantScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _users_sharing_a_tenant(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Tenant)
class TenantAdmin(RoleCheckedAdmin, NotFoundIs404Mixin, admin.ModelAdmin):
    """Owners rename their tenant and manage its members; only superusers create or delete tenants."""

    list_display = ("name", "slug", "member_count", "products_link", "created_at")
    search_fields = ("name", "=slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    show_full_result_count = False

    def get_queryset(self, request):
        return visible_tenants(request).annotate(_members=Count("memberships", distinct=True))

    def get_readonly_fields(self, request, obj=None):
        # The slug names the tenant in every command (--tenant SLUG): fixed once created.
        return ("slug", "created_at") if obj else ("created_at",)

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else self.prepopulated_fields

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj: Tenant) -> int:
        return obj._members

    @admin.display(description="Products")
    def products_link(self, obj: Tenant) -> str:
        url = reverse("admin:catalog_product_changelist") + f"?tenant__id__exact={obj.pk}"
        return format_html('<a href="{}">Products</a>', url)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("tenant", "user")
    search_fields = ("user__username", "user__email", "tenant__slug")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _users_sharing_a_tenant(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
