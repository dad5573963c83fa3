"""``manage.py create_tenant SLUG [--name NAME] [--owner-email EMAIL]``: idempotent."""

from django.conf import settings

from catalog import tenants
from catalog.management.base import ServiceCommand


class Command(ServiceCommand):
    help = "Create a tenant (or confirm it exists) and optionally give an owner access to it."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short unique name used by every command's --tenant, e.g. acme")
        parser.add_argument("--name", help="Display name (default: the slug); renames an existing tenant")
        parser.add_argument(
            "--owner-email",
            help="Owner's email; a new user gets a one-time password printed once, an existing one just access",
        )

    def handle(self, *args, slug: str, name: str | None, owner_email: str | None, **options):
        if owner_email:
            owner_email = tenants.normalise_email(owner_email)  # refuse before changing anything
        ensured = tenants.ensure_tenant(slug, name)
        tenant = ensured.tenant
        state = "created" if ensured.created else ("renamed" if ensured.renamed else "already exists")
        self.stdout.write(self.style.SUCCESS(f"Tenant {tenant.slug} (id {tenant.pk}, {tenant.name!r}): {state}"))
        if not owner_email:
            return
        owner = tenants.ensure_owner(tenant, owner_email)
        login_url = f"{settings.SITE_URL}/admin/"
        if owner.password:
            self.stdout.write(
                self.style.SUCCESS(f"Owner {owner.user.username}: created, role {owner.membership.role}.")
            )
            self.stdout.write(f"  Log in at {login_url} as {owner.user.username} with the one-time password:")
            self.stdout.write(f"  {owner.password}")
            self.stdout.write("  It is shown only now; change it after logging in (top right, 'Change password').")
        else:
            self.stdout.write(
                f"Owner {owner.user.username}: existing user, role {owner.membership.role} on {tenant.slug}; "
                f"they log in at {login_url} with their own password."
            )
