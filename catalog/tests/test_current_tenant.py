"""One tenant resolution for every merchant page (catalog.current_tenant)."""

import pytest
from django.urls import reverse

from catalog import tenants
from catalog.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_of_both(owner_user, other_tenant):
    tenants.add_member(other_tenant, owner_user, role=Membership.Role.OWNER)
    return owner_user


def test_the_tenant_chosen_on_one_merchant_page_is_the_one_the_next_page_shows(
    owner_client, owner_of_both, tenant, other_tenant
):
    owner_client.get(reverse("health:index"), {"tenant": other_tenant.slug})
    page = owner_client.get(reverse("connection:whatsapp"))
    assert page.status_code == 200 and page.context["tenant"] == other_tenant
    owner_client.get(reverse("connection:whatsapp"), {"tenant": tenant.slug})
    assert owner_client.get(reverse("health:index")).context["tenant"] == tenant


def test_another_tenants_slug_is_a_404_on_every_merchant_page(owner_client, other_tenant):
    for url in (reverse("health:index"), reverse("connection:whatsapp")):
        assert owner_client.get(url, {"tenant": other_tenant.slug}).status_code == 404
