"""The role matrix: roles are per tenant, one function asks them, the README says the same."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser

from catalog import tenants
from catalog.models import Membership
from catalog.permissions import MATRIX, Action, admin_action, allowed_tenants, can, can_anywhere, denied_rows
from catalog.tests.factories import ProductFactory, TenantFactory, UserFactory

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = (Membership.Role.OWNER, Membership.Role.STAFF, Membership.Role.VIEWER)


def readme_matrix() -> dict[str, dict[str, bool]]:
    section = README.read_text().split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if match := re.match(r"^\| `(\w+)` \|[^|]*\| (yes|no) \| (yes|no) \| (yes|no) \|$", line):
            action, *answers = match.groups()
            rows[action] = dict(zip(ROLES, (a == "yes" for a in answers), strict=True))
    return rows


def test_readme_roles_table_is_the_matrix():
    code = {action.value: {role: role in MATRIX[action] for role in ROLES} for action in Action}
    assert readme_matrix() == code


def test_every_action_has_a_row_in_the_matrix():
    assert set(MATRIX) == set(Action)


@pytest.mark.django_db
class TestCan:
    def test_the_role_in_the_objects_tenant_applies(self):
        a, b = TenantFactory(slug="a"), TenantFactory(slug="b")
        user = UserFactory()
        tenants.add_member(a, user, role=Membership.Role.OWNER)
        tenants.add_member(b, user, role=Membership.Role.VIEWER)
        product_a, product_b = ProductFactory(tenant=a), ProductFactory(tenant=b)
        assert can(user, Action.EDIT, product_a) and can(user, Action.MANAGE_CONNECTION, a)
        assert can(user, Action.VIEW, product_b)
        assert not can(user, Action.EDIT, product_b) and not can(user, Action.OPERATE, b.pk)

    def test_no_membership_no_right(self):
        user = UserFactory()
        tenant = TenantFactory()
        assert not any(can(user, action, tenant) for action in Action)
        assert not can(AnonymousUser(), Action.VIEW, tenant)

    def test_superuser_may_everything_everywhere(self):
        user = UserFactory(is_superuser=True)
        assert all(can(user, action, TenantFactory()) for action in Action)

    def test_inactive_members_may_nothing(self):
        user = UserFactory(is_active=False)
        tenant = TenantFactory()
        tenants.add_member(tenant, user, role=Membership.Role.OWNER)
        assert not can(user, Action.VIEW, tenant)

    def test_anywhere_and_allowed_tenants(self):
        a, b = TenantFactory(slug="a"), TenantFactory(slug="b")
        user = UserFactory()
        tenants.add_member(a, user, role=Membership.Role.STAFF)
        tenants.add_member(b, user, role=Membership.Role.VIEWER)
        assert can_anywhere(user, Action.OPERATE) and not can_anywhere(user, Action.MANAGE_CONNECTION)
        assert list(allowed_tenants(user, Action.OPERATE)) == [a]
        assert set(allowed_tenants(user, Action.VIEW)) == {a, b}

    def test_denied_rows_are_the_rows_of_other_roles_tenants(self):
        a, b = TenantFactory(slug="a"), TenantFactory(slug="b")
        user = UserFactory()
        tenants.add_member(a, user, role=Membership.Role.STAFF)
        tenants.add_member(b, user, role=Membership.Role.VIEWER)
        product_a, product_b = ProductFactory(tenant=a), ProductFactory(tenant=b)
        denied = denied_rows(user, Action.EDIT, type(product_a).objects.all())
        assert list(denied) == [product_b]


def test_admin_permissions_default_to_view_only_and_superusers():
    assert admin_action("catalog.syncbatch", "view") == Action.VIEW
    assert admin_action("catalog.syncbatch", "change") is None
    assert admin_action("catalog.shopifystore", "change") == Action.MANAGE_CONNECTION
    assert admin_action("catalog.product", "add") is None
    assert admin_action("some.newmodel", "view") == Action.VIEW
    assert admin_action("catalog.catalog", "operate") == Action.OPERATE


def test_viewers_write_nothing_and_only_owners_change_credentials():
    from catalog.permissions import ADMIN_PERMISSIONS

    for label, needs in ADMIN_PERMISSIONS.items():
        for permission in ("add", "change", "delete"):
            if permission in needs:
                assert Membership.Role.VIEWER not in MATRIX[needs[permission]], (label, permission)
    for label in ("catalog.shopifystore", "catalog.metaconnection", "catalog.catalog", "catalog.membership"):
        for permission in ("add", "change"):
            assert MATRIX[ADMIN_PERMISSIONS[label][permission]] == {Membership.Role.OWNER}, (label, permission)
