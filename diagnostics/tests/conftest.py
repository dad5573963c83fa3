"""Fixtures for the diagnostics tests: a merchant (non-staff member) and data on two tenants."""

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import tenants
from catalog.models import Membership
from catalog.tests.factories import ProductFactory, UserFactory, VariantFactory


@pytest.fixture
def merchant(tenant):
    """A shop owner of tenant A: not staff, sees only the merchant pages of tenant A."""
    user = UserFactory(username="merchant-a", is_staff=False, is_superuser=False)
    tenants.add_member(tenant, user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def merchant_client(merchant):
    client = Client()
    client.force_login(merchant)
    return client


@pytest.fixture
def make_variants(store, catalog):
    """``make_variants(n, status=..., **fields)``: n variants of one new product in tenant A's catalog."""

    def make(n: int, status: str = "SYNCED", **fields):
        product = ProductFactory(tenant=store.tenant, store=store)
        return VariantFactory.create_batch(n, product=product, catalog=catalog, meta_status=status, **fields)

    return make


@pytest.fixture(autouse=True)
def _empty_cache():
    """Item checks and rate limits are cached by id; ids repeat between tests."""
    cache.clear()
    yield
    cache.clear()
