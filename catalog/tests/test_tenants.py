"""Tenant services and the create_tenant command."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog import permissions, tenants
from catalog.models import Membership, Tenant
from catalog.tests.factories import TenantFactory, UserFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_tenant", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestGetBySlugOrId:
    def test_finds_by_slug(self):
        tenant = TenantFactory(slug="acme")
        assert tenants.get_by_slug_or_id("acme") == tenant

    def test_finds_by_id(self):
        tenant = TenantFactory(slug="acme")
        assert tenants.get_by_slug_or_id(str(tenant.pk)) == tenant

    def test_unknown_is_a_tenant_error(self):
        with pytest.raises(tenants.TenantNotFound, match="Unknown tenant 'nope'"):
            tenants.get_by_slug_or_id("nope")

    def test_blank_is_a_tenant_error(self):
        with pytest.raises(tenants.TenantNotFound, match="--tenant"):
            tenants.get_by_slug_or_id(" ")


@pytest.mark.django_db
class TestCreateTenantCommand:
    def test_creates_tenant(self):
        output = run("acme", "--name", "Acme Inc")
        tenant = Tenant.objects.get(slug="acme")
        assert tenant.name == "Acme Inc"
        assert f"Tenant acme (id {tenant.pk}, 'Acme Inc'): created" in output

    def test_is_idempotent(self):
        run("acme", "--owner-email", "owner@acme.test")
        output = run("acme", "--owner-email", "owner@acme.test")
        assert Tenant.objects.filter(slug="acme").count() == 1
        assert Membership.objects.filter(tenant__slug="acme").count() == 1
        assert "already exists" in output
        assert "existing user" in output

    def test_renames_when_name_differs(self):
        run("acme", "--name", "Old")
        assert "renamed" in run("acme", "--name", "New")
        assert Tenant.objects.get(slug="acme").name == "New"

    def test_new_owner_gets_a_one_time_password_that_logs_in(self, client):
        output = run("acme", "--owner-email", "Owner@Acme.test")
        password = output.split("one-time password:\n", 1)[1].split()[0]
        user = get_user_model().objects.get(username="owner@acme.test")
        assert user.check_password(password)
        assert client.login(username="owner@acme.test", password=password)
        assert client.get("/admin/catalog/product/").status_code == 200

    def test_owner_is_staff_member_with_the_owner_role_and_no_global_permissions(self):
        run("acme", "--owner-email", "owner@acme.test")
        user = get_user_model().objects.get(username="owner@acme.test")
        assert user.is_staff and not user.is_superuser
        assert Membership.objects.get(user=user).role == Membership.Role.OWNER
        assert not user.groups.exists() and not user.get_all_permissions()
        assert permissions.can(user, permissions.Action.MANAGE_CONNECTION, Tenant.objects.get(slug="acme"))

    def test_existing_user_is_added_without_a_new_password(self):
        user = UserFactory(username="someone", email="someone@acme.test", is_staff=False)
        output = run("acme", "--owner-email", "someone@acme.test")
        assert "password:" not in output
        user.refresh_from_db()
        assert user.check_password("pw-for-tests")
        assert user.is_staff
        assert Membership.objects.filter(user=user, tenant__slug="acme", role="owner").exists()

    def test_bad_slug_is_refused(self):
        with pytest.raises(CommandError, match="Invalid tenant slug"):
            run("not a slug")

    def test_bad_email_is_refused_before_anything_changes(self):
        with pytest.raises(CommandError, match="Invalid email"):
            run("acme", "--owner-email", "not-an-email")
        assert not Tenant.objects.filter(slug="acme").exists()


@pytest.mark.django_db
class TestNoGlobalGroups:
    def test_a_member_joins_no_group(self):
        user = UserFactory(is_staff=False)
        tenants.add_member(TenantFactory(), user, role=Membership.Role.VIEWER)
        assert not user.groups.exists()

    def test_migrate_removes_the_old_tenant_groups(self):
        from django.apps import apps
        from django.contrib.auth.models import Group, Permission

        old = Group.objects.create(name="Tenant staff")
        old.permissions.set(Permission.objects.filter(codename="change_catalog"))
        Group.objects.create(name="Operators")
        permissions.remove_legacy_groups(sender=apps.get_app_config("catalog"))
        assert list(Group.objects.values_list("name", flat=True)) == ["Operators"]
