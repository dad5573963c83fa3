"""The role matrix, walked over the whole admin: every registered model, action and custom URL.

Five users meet tenant B's data: its owner, its staff (who owns tenant A), its viewer (who
is staff of tenant A: the role in B must apply, not the stronger one in A), a viewer of B
and nothing else, and staff of A only (the control: B's rows are 404 to them). What each may do comes from the matrix
(``catalog.permissions``); a refused request answers 403 or 404 and changes nothing in
B, queues nothing. Nothing here names a model, action or view: a new admin, action or
custom URL is walked as soon as it is registered (a tenant-owned model needs a row in
``populate`` below, or the test says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from alerts.tests.factories import AlertFactory, AlertSettingsFactory, DigestFactory
from catalog import tenants as tenant_services
from catalog.admin.base import RoleCheckedAdmin
from catalog.models import (
    DriftFinding,
    Membership,
    MetaItemDeletion,
    ReconciliationReport,
    ReReviewRequest,
    Tenant,
)
from catalog.permissions import MATRIX, Action, admin_action
from catalog.tests.admin.formdata import changeform_data
from catalog.tests.factories import (
    CANARY_TAILS,
    CatalogFactory,
    ImportRunFactory,
    MembershipFactory,
    MetaConnectionFactory,
    MetaOnboardingFactory,
    ProductFactory,
    ProductSetFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    TenantFactory,
    UserFactory,
    VariantEventFactory,
    VariantFactory,
    WebhookEventFactory,
)
from conversions.tests.factories import ConversionEventFactory, ConversionsSettingsFactory
from diagnostics.tests.factories import (
    CatalogIssueFactory,
    DiagnosticsRunFactory,
    HealthSnapshotFactory,
    ItemIssueFactory,
)

Role = Membership.Role
REGISTRY = {model._meta.label_lower: (model, model_admin) for model, model_admin in admin.site._registry.items()}
# Django's own per-model views; everything else a ModelAdmin serves is a custom view.
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")
# The admin site's own URLs (not a model's). A new one must be added here after deciding
# what a member may see there.
SITE_VIEWS = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "jsi18n",
    "view_on_site",
    "autocomplete",
    "app_list",
    "section",
}

# user key -> (role in tenant B, role in tenant A)
USERS = {
    "owner_b": (Role.OWNER, None),
    "staff_b": (Role.STAFF, Role.OWNER),
    "viewer_b": (Role.VIEWER, Role.STAFF),
    "only_viewer_b": (Role.VIEWER, None),
    "staff_a": (None, Role.STAFF),
}


@dataclass
class World:
    a: Tenant
    b: Tenant
    superuser_client: Client

    def row_in_b(self, model: type[models.Model]) -> models.Model | None:
        if issubclass(model, Tenant):
            return self.b
        if has_tenant(model):
            return model._default_manager.filter(tenant=self.b).order_by("pk").first()
        return model._default_manager.order_by("pk").first()


def has_tenant(model: type[models.Model]) -> bool:
    return any(f.name == "tenant" and f.related_model is Tenant for f in model._meta.fields)


# Tenant B's secrets end in tails of their own: a viewer of B who is staff of A may see A's
# ••••last4 on a mixed list, never B's.
B_TAILS = ("~bS9", "~bW9", "~bM9")


def populate(tenant: Tenant, tails: tuple[str, str, str] | None = None) -> None:
    """One row of every tenant-owned model the admin shows, in ``tenant``."""
    secrets = {}
    if tails:
        secrets = {
            "access_token": f"shpat_canary_{tenant.slug}{tails[0]}",
            "webhook_secret": f"whsec-canary-{tenant.slug}{tails[1]}",
        }
    store = ShopifyStoreFactory(tenant=tenant, **secrets)
    meta = {"access_token": f"EAAcanary{tenant.slug}{tails[2]}", "token_last4": tails[2]} if tails else {}
    connection = MetaConnectionFactory(tenant=tenant, **meta)
    catalog = CatalogFactory(tenant=tenant, store=store, connection=connection)
    product = ProductFactory(tenant=tenant, store=store)
    variant = VariantFactory(product=product, catalog=catalog)
    ProductSetFactory(catalog=catalog)
    SyncBatchFactory(catalog=catalog)
    report = ReconciliationReport.objects.create(
        tenant=tenant, catalog=catalog, meta_catalog_id=catalog.meta_catalog_id, purpose="import"
    )
    MetaItemDeletion.objects.create(
        tenant=tenant,
        catalog=catalog,
        retailer_id="gone-1",
        reason=MetaItemDeletion.Reason.choices[0][0],
        report=report,
    )
    ImportRunFactory(store=store)
    WebhookEventFactory(store=store, state="failed", error="boom")
    ItemIssueFactory(variant=variant, catalog=catalog)
    CatalogIssueFactory(catalog=catalog)
    DiagnosticsRunFactory(catalog=catalog)
    HealthSnapshotFactory(catalog=catalog)
    MembershipFactory(tenant=tenant, role=Role.VIEWER)
    ConversionEventFactory(catalog=catalog, state="dead", last_error="refused")
    ConversionsSettingsFactory(tenant=tenant)
    MetaOnboardingFactory(tenant=tenant, meta_catalog_id=catalog.meta_catalog_id)
    AlertSettingsFactory(tenant=tenant)
    AlertFactory(tenant=tenant, catalog=catalog)
    DigestFactory(tenant=tenant)
    DriftFinding.objects.create(
        tenant=tenant,
        catalog=catalog,
        kind=DriftFinding.Kind.GHOST,
        retailer_id="ghost-1",
        first_found_at=timezone.now(),
        last_found_at=timezone.now(),
    )
    ReReviewRequest.objects.create(tenant=tenant, catalog=catalog, variant=variant, reason=ReReviewRequest.Reason.STAFF)
    VariantEventFactory(variant=variant)


@pytest.fixture
def world(db) -> World:
    a, b = TenantFactory(slug="tenant-a"), TenantFactory(slug="tenant-b")
    populate(a)
    populate(b, B_TAILS)
    superuser = UserFactory(username="root", is_superuser=True)
    client = Client()
    client.force_login(superuser)
    return World(a=a, b=b, superuser_client=client)


def login(world: World, key: str) -> tuple[Client, dict[int, str]]:
    """A client for the user ``key`` (see USERS) and their roles by tenant id."""
    role_b, role_a = USERS[key]
    user = UserFactory(username=key, is_staff=False)
    roles = {}
    for tenant, role in ((world.b, role_b), (world.a, role_a)):
        if role:
            tenant_services.add_member(tenant, user, role=role)
            roles[tenant.pk] = role
    client = Client()
    client.force_login(user)
    return client, roles


def snapshot(world: World) -> list:
    """Every row of tenant B (and B itself), to compare before and after a refused request."""
    state = [list(Tenant.objects.filter(pk=world.b.pk).values())]
    for model, _ in REGISTRY.values():
        if has_tenant(model) and not model._meta.proxy:
            state.append(list(model._default_manager.filter(tenant=world.b).order_by("pk").values()))
    return state


def allowed(action: Action | None, role: str | None) -> bool:
    return action is not None and role is not None and role in MATRIX[action]


def allowed_anywhere(action: Action | None, roles: dict[int, str]) -> bool:
    return any(allowed(action, role) for role in roles.values())


def custom_urls(model_admin) -> list[URLPattern]:
    info = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    return [
        p
        for p in model_admin.get_urls()
        if isinstance(p, URLPattern) and p.name and not any(p.name == info + v for v in STANDARD_VIEWS)
    ]


def all_actions(model_admin) -> dict:
    """Every action of the admin, as a superuser sees them (members see fewer)."""
    return model_admin.get_actions(_superuser_request())


def _superuser():
    return get_user_model().objects.get(username="root")


def _superuser_request():
    request = RequestFactory().get("/")
    request.user = _superuser()
    return request


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# -- the walk ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_key", list(USERS))
@pytest.mark.parametrize("label", sorted(REGISTRY))
def test_admin_follows_the_matrix(label, user_key, world, django_capture_on_commit_callbacks):
    model, model_admin = REGISTRY[label]
    client, roles = login(world, user_key)
    role = roles.get(world.b.pk)
    row = world.row_in_b(model)
    scoped = isinstance(model_admin, RoleCheckedAdmin)
    if scoped and has_tenant(model) or model is Tenant:
        assert row is not None, f"Add a {label} row to populate() in {__name__}"

    def need(permission: str) -> Action | None:
        return admin_action(label, permission) if scoped else None

    def check_refused(response, *, foreign_ok: bool = True) -> None:
        codes = (403, 404) if foreign_ok else (403,)
        assert response.status_code in codes, (label, user_key, response.status_code)

    before = snapshot(world)
    with django_capture_on_commit_callbacks() as queued:
        # The list.
        response = client.get(url(model, "changelist"))
        if allowed_anywhere(need("view"), roles):
            assert response.status_code == 200
            cl = response.context.get("cl") if response.context else None
            if isinstance(cl, ChangeList) and row is not None:
                listed = {obj.pk for obj in cl.result_list}
                assert (row.pk in listed) == (role is not None)
        else:
            check_refused(response, foreign_ok=False)

        # The add form: open where the role allows adding somewhere; its tenant dropdown
        # lists only tenants where it does.
        response = client.get(url(model, "add"))
        if allowed_anywhere(need("add"), roles) and model_admin.has_add_permission(_superuser_request()):
            assert response.status_code == 200
            form = response.context["adminform"].form
            if "tenant" in form.fields:
                offered = {t.pk for t in form.fields["tenant"].queryset}
                assert offered == {pk for pk, r in roles.items() if allowed(need("add"), r)}
        else:
            check_refused(response, foreign_ok=False)
        if model is not Tenant and has_tenant(model) and not allowed(need("add"), role):
            count = model._default_manager.filter(tenant=world.b).count()
            response = client.post(url(model, "add"), {"tenant": world.b.pk})
            assert response.status_code != 302
            assert model._default_manager.filter(tenant=world.b).count() == count

        if row is not None:
            walk_object_views(client, world, model, model_admin, row, role, roles, need)
        # Custom views before actions: an allowed action may delete the row (a staff-defined product set).
        walk_custom_views(client, world, model_admin, row, role, roles, label, user_key)
        if row is not None:
            walk_actions(client, world, model_admin, row, role, roles, need, label, user_key)
    if role is None or role == Role.VIEWER:
        # Nothing a viewer or an outsider did reached tenant B.
        assert snapshot(world) == before
        assert not queued, (label, user_key, queued)


def walk_object_views(client, world, model, model_admin, row, role, roles, need) -> None:
    label = model._meta.label_lower
    scoped = isinstance(model_admin, RoleCheckedAdmin)
    member_of_b = role is not None
    page = world.superuser_client.get(url(model, "change", row.pk))
    data = changeform_data(page) if page.status_code == 200 and page.context and "adminform" in page.context else {}

    before = snapshot(world)
    response = client.get(url(model, "change", row.pk))
    if scoped and not member_of_b:
        assert response.status_code == 404
    elif allowed(need("view"), role):
        assert response.status_code in (200, 302)
        if response.status_code == 200 and "has_change_permission" in response.context:
            assert response.context["has_change_permission"] == allowed(need("change"), role)
    else:
        assert response.status_code == 403

    response = client.post(url(model, "change", row.pk), data)
    if allowed(need("change"), role) and model_admin.has_change_permission(_superuser_request(), row):
        assert response.status_code in (200, 302), (label, response.status_code)
    else:
        assert response.status_code in ((404,) if scoped and not member_of_b else (403, 405)), (
            label,
            response.status_code,
        )
        assert snapshot(world) == before

    response = client.get(url(model, "history", row.pk))
    expected = 404 if scoped and not member_of_b else 200 if allowed(need("view"), role) else 403
    assert response.status_code == expected

    response = client.get(url(model, "delete", row.pk))
    may_delete = allowed(need("delete"), role) and model_admin.has_delete_permission(_superuser_request(), row)
    if may_delete:
        assert response.status_code == 200
    else:
        assert response.status_code == (404 if scoped and not member_of_b else 403)
        response = client.post(url(model, "delete", row.pk), {"post": "yes"})
        assert response.status_code in (403, 404)
        assert model._default_manager.filter(pk=row.pk).exists()


def walk_actions(client, world, model_admin, row, role, roles, need, label, user_key) -> None:
    model = model_admin.model
    for name, (func, _, _) in all_actions(model_admin).items():
        needed = getattr(func, "allowed_permissions", None) or ("change",)
        actions = [admin_action(label, p) if isinstance(model_admin, RoleCheckedAdmin) else None for p in needed]
        assert not any(allowed(a, Role.VIEWER) for a in actions), f"{label}.{name}: viewers never run actions"
        before = snapshot(world)
        response = client.post(
            url(model, "changelist"), {"action": name, "_selected_action": [row.pk], "index": 0, "post": "yes"}
        )
        if any(allowed(a, role) for a in actions):
            assert response.status_code in (200, 302), (name, response.status_code)
            continue
        # Refused: 403 when the action is offered (the role allows it in another tenant),
        # else the action is unknown to the user's changelist; either way nothing changed.
        if any(allowed_anywhere(a, roles) for a in actions) and role is not None:
            assert response.status_code == 403, (label, name, user_key, response.status_code)
        else:
            assert response.status_code in (200, 302, 403), (label, name, user_key, response.status_code)
        assert snapshot(world) == before, (label, name, user_key)
        assert model._default_manager.filter(pk=row.pk).exists()


def walk_custom_views(client, world, model_admin, row, role, roles, label, user_key) -> None:
    if not isinstance(model_admin, RoleCheckedAdmin):
        # Not tenant data (users, the task queue, the sandbox): members are refused everywhere.
        for pattern in custom_urls(model_admin):
            args = [row.pk] * len(pattern.pattern.converters) if row is not None else None
            if args is None and pattern.pattern.converters:
                continue
            before = snapshot(world)
            for response in (
                client.get(reverse(f"admin:{pattern.name}", args=args)),
                client.post(reverse(f"admin:{pattern.name}", args=args), {}),
            ):
                assert response.status_code in (403, 404, 405), (pattern.name, user_key, response.status_code)
            assert snapshot(world) == before
        return
    for pattern in custom_urls(model_admin):
        view = pattern.callback
        required = getattr(view, "required_actions", None)
        assert required is not None, (
            f"{pattern.name}: declare what the view needs with object_view / any_tenant_view (catalog/admin/base.py)"
        )
        per_object = view.per_object
        assert not allowed(required["POST"], Role.VIEWER), f"{pattern.name}: a viewer's POST never writes"
        if per_object and row is None:
            continue
        target = reverse(f"admin:{pattern.name}", args=[row.pk] if per_object else [])
        dangerous = {
            "action": "pause",
            "reason": "x",
            "flow": "create",
            "store": getattr(row, "pk", ""),
            "tenant": world.b.pk,
            "shop_domain": "taken.myshopify.com",
            "access_token": "shpat_x",
            "webhook_secret": "s",
            "catalog_id": "1",
        }
        for method in ("GET", "POST"):
            action = required[method]
            ok = allowed(action, role) if per_object else allowed_anywhere(action, roles)
            before = snapshot(world)
            send = client.get if method == "GET" else client.post
            if action is None:
                response = send(target) if method == "GET" else send(target, dangerous)
                assert response.status_code in (403, 404, 405), (pattern.name, method, response.status_code)
                assert snapshot(world) == before
                continue
            if ok and (per_object or allowed(action, role)):
                response = send(target) if method == "GET" else send(target, {})
                assert response.status_code in (200, 302), (pattern.name, method, user_key, response.status_code)
                continue
            response = send(target) if method == "GET" else send(target, dangerous)
            if ok:  # allowed in another tenant: B is simply not offered
                assert response.status_code in (200, 302), (pattern.name, method, response.status_code)
            elif per_object and role is None:
                assert response.status_code == 404, (pattern.name, method, user_key, response.status_code)
            else:
                assert response.status_code == 403, (pattern.name, method, user_key, response.status_code)
            assert snapshot(world) == before, (pattern.name, method, user_key)


def test_every_custom_admin_url_of_tenant_data_declares_its_role_requirement():
    for _, model_admin in REGISTRY.values():
        if not isinstance(model_admin, RoleCheckedAdmin):
            continue
        for pattern in custom_urls(model_admin):
            assert getattr(pattern.callback, "required_actions", None), pattern.name


def test_site_urls_are_known():
    """A new admin-site view (not a model's) needs a decision about members: add it to SITE_VIEWS then."""
    names = {p.name for p in admin.site.get_urls() if isinstance(p, URLPattern)}
    assert names <= SITE_VIEWS | {None}, names - SITE_VIEWS
    assert all(isinstance(p, URLPattern | URLResolver) for p in admin.site.get_urls())


# -- secrets ---------------------------------------------------------------------------------


def secrets_of(world: World) -> list[str]:
    from catalog.models import MetaConnection, ShopifyStore

    values = [s.access_token for s in ShopifyStore.objects.all()]
    values += [s.webhook_secret for s in ShopifyStore.objects.all()]
    values += [c.access_token for c in MetaConnection.objects.all()]
    return [v for v in values if v]


@pytest.mark.parametrize("user_key", ["only_viewer_b", "viewer_b", "staff_b", "owner_b"])
def test_no_admin_page_shows_a_secret(user_key, world):
    """No role sees a stored secret; a viewer not even its last four characters."""
    client, roles = login(world, user_key)
    secrets = secrets_of(world)
    assert secrets and all(any(s.endswith(tail) for tail in CANARY_TAILS + B_TAILS) for s in secrets)
    forbidden = secrets + (list(B_TAILS) if roles[world.b.pk] == Role.VIEWER else [])
    if roles == {world.b.pk: Role.VIEWER}:
        forbidden += list(CANARY_TAILS)  # a viewer and nothing else sees no tail at all
    pages = [reverse("admin:index")] + [
        reverse("admin:section", kwargs={"key": key})
        for key in ("tenants", "shopify", "meta", "products", "sync", "diagnostics")
    ]
    for model, model_admin in REGISTRY.values():
        row = world.row_in_b(model)
        pages.append(url(model, "changelist"))
        if row is not None:
            pages += [url(model, "change", row.pk), url(model, "history", row.pk), url(model, "delete", row.pk)]
        for pattern in custom_urls(model_admin):
            if not pattern.pattern.converters:
                pages.append(reverse(f"admin:{pattern.name}"))
            elif row is not None:
                pages.append(reverse(f"admin:{pattern.name}", args=[row.pk] * len(pattern.pattern.converters)))
    pages += [
        reverse("health:index") + "?tenant=tenant-b",
        reverse("health:items") + "?tenant=tenant-b",
        reverse("health:export") + "?tenant=tenant-b",
        reverse("connection:whatsapp") + "?tenant=tenant-b",
        reverse("health:product", args=[world.row_in_b(ProductFactory._meta.model).pk]),
    ]
    for page in pages:
        response = client.get(page, follow=True)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        for secret in forbidden:
            assert secret not in text, (page, secret[-4:])


# -- merchant pages ------------------------------------------------------------------------------

# Every merchant URL: (what a GET needs, what a POST needs); None: that method is not served.
# A new merchant URL must be added here, which is the moment to decide who may use it.
MERCHANT_URLS = {
    "connection:whatsapp": (Action.SEE_CONNECTION, None),
    "connection:save_token": (None, Action.MANAGE_CONNECTION),
    "connection:check_token": (None, Action.MANAGE_CONNECTION),
    "connection:refresh_catalogs": (None, Action.MANAGE_CONNECTION),
    "connection:choose_catalog": (None, Action.MANAGE_CONNECTION),
    "connection:rerun_checks": (None, Action.MANAGE_CONNECTION),
    "connection:connect_pixel": (None, Action.MANAGE_CONNECTION),
    "connection:reread_catalog": (None, Action.MANAGE_CONNECTION),
    "connection:report": (Action.SEE_CONNECTION, Action.MANAGE_CONNECTION),
    "connection:confirm_onboarding": (None, Action.MANAGE_CONNECTION),
    "connection:dismiss_onboarding": (None, Action.MANAGE_CONNECTION),
    "health:index": (Action.VIEW, None),
    "health:items": (Action.VIEW, None),
    "health:export": (Action.VIEW, None),
    "health:product": (Action.VIEW, None),
    "health:check": (None, Action.OPERATE),
}
PUBLIC = {"health:login", "health:logout"}


def merchant_patterns() -> list[str]:
    from catalog.connection import urls as connection_urls
    from diagnostics import urls as health_urls

    return [f"{module.app_name}:{p.name}" for module in (connection_urls, health_urls) for p in module.urlpatterns]


def test_every_merchant_url_has_a_rule():
    assert set(merchant_patterns()) - PUBLIC == set(MERCHANT_URLS)


def merchant_url(world: World, name: str) -> str:
    from catalog.models import Catalog, MetaOnboarding, Product

    args = {
        "connection:rerun_checks": Catalog,
        "connection:connect_pixel": Catalog,
        "connection:reread_catalog": Catalog,
        "connection:report": ReconciliationReport,
        "health:product": Product,
        "connection:confirm_onboarding": MetaOnboarding,
        "connection:dismiss_onboarding": MetaOnboarding,
    }
    model = args.get(name)
    path = reverse(name, args=[world.row_in_b(model).pk] if model else [])
    return f"{path}?tenant={world.b.slug}"


@pytest.mark.parametrize("user_key", list(USERS))
@pytest.mark.parametrize("name", sorted(MERCHANT_URLS))
def test_merchant_pages_follow_the_matrix(name, user_key, world, django_capture_on_commit_callbacks):
    client, roles = login(world, user_key)
    role = roles.get(world.b.pk)
    get_needs, post_needs = MERCHANT_URLS[name]
    target = merchant_url(world, name)
    assert not allowed(post_needs, Role.VIEWER), f"{name}: a viewer's POST never writes"
    if get_needs is not None:
        response = client.get(target)
        if role is None:
            assert response.status_code == 404
        elif allowed(get_needs, role):
            assert response.status_code == 200, (name, user_key, response.status_code)
        else:
            assert response.status_code == 403, (name, user_key, response.status_code)
    if post_needs is not None and not allowed(post_needs, role):
        # Refused before anything is read from the form: a dangerous payload changes nothing.
        before = snapshot(world)
        with django_capture_on_commit_callbacks() as queued:
            response = client.post(
                target,
                {
                    "tenant": world.b.slug,
                    "access_token": "EAA" + "x" * 40,
                    "flow": "create",
                    "confirm": "on",
                    "pixel_id": "123456",
                },
            )
        assert response.status_code == (404 if role is None else 403), (name, user_key, response.status_code)
        assert snapshot(world) == before and not queued
