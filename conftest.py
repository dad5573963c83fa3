"""Project-wide pytest fixtures: two tenants, their members, and logged-in admin clients.

Tenant A is "ours" (``tenant``, ``staff_user``, ``staff_client_of_tenant_a``, and
``owner_client`` / ``viewer_client`` for the other roles); tenant B (``other_tenant``) is
the one whose data must never show. Other apps' tests use these
for their own isolation checks.
"""

import pytest
from django.test import Client

from catalog import tenants
from catalog.models import Membership
from catalog.tests.factories import CatalogFactory, ShopifyStoreFactory, TenantFactory, UserFactory


@pytest.fixture
def tenant(db):
    """Tenant A."""
    return TenantFactory(slug="tenant-a", name="Tenant A")


@pytest.fixture
def other_tenant(db):
    """Tenant B: its rows must never reach tenant A's staff."""
    return TenantFactory(slug="tenant-b", name="Tenant B")


@pytest.fixture
def staff_user(tenant):
    """A non-superuser member of tenant A with the staff role."""
    user = UserFactory(username="staff-a", is_staff=True, is_superuser=False)
    tenants.add_member(tenant, user, role=Membership.Role.STAFF)
    return user


@pytest.fixture
def staff_client_of_tenant_a(staff_user):
    """A test client logged in as ``staff_user`` (tenant A's staff)."""
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def staff_client(staff_client_of_tenant_a):
    """Alias of ``staff_client_of_tenant_a``."""
    return staff_client_of_tenant_a


@pytest.fixture
def owner_user(tenant):
    """An owner of tenant A: may also change its tokens, stores, catalogs and members."""
    user = UserFactory(username="owner-of-a", is_staff=True, is_superuser=False)
    tenants.add_member(tenant, user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def owner_client(owner_user):
    """A test client logged in as ``owner_user`` (tenant A's owner)."""
    client = Client()
    client.force_login(owner_user)
    return client


@pytest.fixture
def viewer_client(tenant):
    """A test client logged in as a viewer of tenant A: reads, never writes, never sees a secret."""
    user = UserFactory(username="viewer-of-a", is_staff=True, is_superuser=False)
    tenants.add_member(tenant, user, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def store(tenant):
    """Tenant A's Shopify store."""
    return ShopifyStoreFactory(tenant=tenant, shop_domain="tenant-a.myshopify.com", name="Tenant A shop")


@pytest.fixture
def catalog(tenant, store):
    """Tenant A's Meta catalog, fed by ``store``."""
    return CatalogFactory(tenant=tenant, store=store, name="Tenant A catalog")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~0.1 s per password; tests do not need its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _sandbox_processes_batches_at_once(settings):
    """The Graph sandbox processes batches and feed uploads without its demo delay in tests."""
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language and leaves none behind.

    LocaleMiddleware activates the request's language in the thread and nothing turns it
    off afterwards: after a French request, the next test's gettext would answer in French.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _forget_store_keys():
    """Webhook secrets kept in memory must not leak from one test's stores into the next."""
    from catalog.shopify import signing_keys

    signing_keys.forget()
    yield
    signing_keys.forget()
