"""The tenant sweep: every URL the project serves, as a member of tenant A, with tenant B's ids.

The URL conf is enumerated (a new URL is covered without editing this test): each pattern
is requested with the id of every row of tenant B (and tenant B's slug for text
parameters) as tenant A's owner, staff and viewer. Nothing of B may show: no B marker in
any answer, and every id that is B's alone answers 403 or 404 (or 405 for a POST-only
URL). A's own ids are the control: the sweep must reach real pages, not only refusals.
The sandbox (Meta's and Shopify's stand-ins, authenticated by API tokens) is not ours.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from django.urls.resolvers import RoutePattern

from catalog import tenants as tenant_services
from catalog.models import Catalog, Membership, Product, ShopifyStore, Tenant, Variant
from catalog.tests.admin.test_roles import populate
from catalog.tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db
Role = Membership.Role
MARKER = "Bravomarker"  # in every name and title of tenant B that a page could print
NOT_OURS = ("sandbox/",)
REFUSED = (403, 404, 405)


def _patterns(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    """(namespaced name, route text, converter names) of every named pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, route, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            params = (
                list(entry.pattern.converters)
                if isinstance(entry.pattern, RoutePattern)
                else list(entry.pattern.regex.groupindex)
            )
            yield f"{namespace}{entry.name}", route, params


def _tenant_rows(tenant: Tenant) -> list:
    rows = []
    for model in apps.get_models():
        if any(f.name == "tenant" and f.related_model is Tenant for f in model._meta.fields):
            rows += list(model._default_manager.filter(tenant=tenant))
    return rows + [tenant]


@pytest.fixture
def world():
    a, b = TenantFactory(slug="tenant-a", name="Tenant A"), TenantFactory(slug="tenant-b", name=f"{MARKER} tenant")
    populate(a)
    populate(b)
    ShopifyStore.objects.filter(tenant=b).update(name=f"{MARKER} shop", shop_domain="bravomarker.myshopify.com")
    Catalog.objects.filter(tenant=b).update(name=f"{MARKER} catalog")
    Product.objects.filter(tenant=b).update(title=f"{MARKER} product", vendor=f"{MARKER} vendor")
    Variant.objects.filter(tenant=b).update(title=f"{MARKER} variant", sku=f"{MARKER}-SKU")
    return a, b


def _client_for(tenant: Tenant, role: str) -> Client:
    user = UserFactory(username=f"{role}-of-a", is_staff=False)
    tenant_services.add_member(tenant, user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _urls(name: str, params: list[str], ids: list[int], slug: str) -> list[str]:
    candidates = [dict.fromkeys(params, value) for value in [*ids, slug]] if params else [{}]
    found = []
    for kwargs in candidates:
        try:
            found.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            continue  # e.g. a text value for an int converter
    return found


@pytest.mark.parametrize("role", [Role.OWNER, Role.STAFF, Role.VIEWER])
def test_no_url_shows_tenant_b_to_a_member_of_tenant_a(world, role):
    a, b = world
    client = _client_for(a, role)
    ids_of_b = {row.pk for row in _tenant_rows(b)}
    ids_of_a = {row.pk for row in _tenant_rows(a)}
    only_b = sorted(ids_of_b - ids_of_a)
    # The control: A's own rows of the models most pages are about (pks differ per table on PostgreSQL).
    control_ids = sorted(
        {
            a.pk,
            *(
                model.objects.filter(tenant=a).values_list("pk", flat=True).first()
                for model in (Catalog, Product, Variant, ShopifyStore)
            ),
        }
        - {None}
    )
    requested = reached = 0
    for name, route, params in _patterns():
        if route.startswith(NOT_OURS) or not params:
            continue
        for path in _urls(name, params, only_b, b.slug):
            response = client.get(path, {"tenant": b.slug})
            requested += 1
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert MARKER.encode() not in body, (path, role)
            if response.status_code in (301, 302):
                assert MARKER not in response["Location"], (path, role)
                continue
            assert response.status_code in REFUSED, (path, role, response.status_code)
        for path in _urls(name, params, control_ids, a.slug):
            reached += client.get(path).status_code == 200
    assert requested > 300  # the sweep really walked the URL conf
    assert reached > 10  # and A's own ids open real pages


@pytest.mark.parametrize("role", [Role.OWNER, Role.VIEWER])
def test_pages_without_ids_show_nothing_of_tenant_b(world, role):
    a, b = world
    client = _client_for(a, role)
    for name, route, params in _patterns():
        if route.startswith(NOT_OURS) or params:
            continue
        # A search that matches B's rows (never echoing the marker itself), and B's tenant filter.
        for query in ({}, {"tenant": b.slug}, {"q": "product"}, {"tenant__id__exact": b.pk}):
            response = client.get(_urls(name, [], [], "")[0], query)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert MARKER.encode() not in body, (name, query, role)
            # /healthz answers 503 by design when no task cluster runs the schedules (none runs
            # here: the test database's schedules fall overdue a few minutes into the suite).
            assert response.status_code < 500 or name == "healthz", (name, query, role)
