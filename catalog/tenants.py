"""Tenant services: look a tenant up for a command, create one, give people access to it."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from .domain_errors import DomainError
from .models import Membership, Tenant

# Long enough to resist guessing, short enough to type once before changing it.
GENERATED_PASSWORD_BYTES = 12


class TenantError(DomainError):
    """A tenant service refused (commands show it as one line)."""


class TenantNotFound(TenantError):
    """No tenant with that slug or id."""


class InvalidTenantInput(TenantError):
    """A slug or an e-mail address that cannot be used."""


def get_by_slug_or_id(value: str | int) -> Tenant:
    """The tenant whose slug (or numeric id) is ``value``; :class:`TenantNotFound` otherwise."""
    text = str(value).strip()
    if not text:
        raise TenantNotFound("No tenant given: pass --tenant SLUG.")
    tenant = Tenant.objects.filter(slug=text).first()
    if tenant is None and text.isdigit():
        tenant = Tenant.objects.filter(pk=int(text)).first()
    if tenant is None:
        raise TenantNotFound(f"Unknown tenant {text!r}: no tenant has that slug or id (see the admin's Tenants list).")
    return tenant


@dataclass(frozen=True)
class EnsuredTenant:
    tenant: Tenant
    created: bool
    renamed: bool


@transaction.atomic
def ensure_tenant(slug: str, name: str | None = None) -> EnsuredTenant:
    """Create the tenant ``slug`` unless it exists; rename it when ``name`` differs. Idempotent."""
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise InvalidTenantInput(f"Invalid tenant slug {slug!r}: use letters, numbers, '-' and '_' only.") from exc
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    renamed = False
    if not created and name and tenant.name != name:
        tenant.name = name
        tenant.save(update_fields=["name"])
        renamed = True
    return EnsuredTenant(tenant, created, renamed)


def add_member(tenant: Tenant, user: AbstractUser, role: str = Membership.Role.STAFF) -> Membership:
    """Give ``user`` access to ``tenant`` with ``role`` (what it allows: ``catalog.permissions``).

    An existing membership keeps its role (idempotent re-runs never demote an owner).
    The user becomes ``is_staff`` so they can log in to the admin.
    """
    membership, _ = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@dataclass(frozen=True)
class EnsuredOwner:
    user: AbstractUser
    membership: Membership
    # Set only when the user was created now: shown once, never stored in clear.
    password: str | None


def normalise_email(email: str) -> str:
    """``email`` lower-cased and checked; :class:`InvalidTenantInput` when it is not an address."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidTenantInput(f"Invalid email address {email!r}.") from exc
    return email


@transaction.atomic
def ensure_owner(tenant: Tenant, email: str) -> EnsuredOwner:
    """Make the user with ``email`` an owner of ``tenant``, creating them with a one-time password."""
    email = normalise_email(email)
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).order_by("pk").first()
    password = None
    if user is None:
        user = user_model.objects.filter(username=email).first()
    if user is None:
        password = generate_password()
        user = user_model.objects.create_user(username=email, email=email, password=password, is_staff=True)
    membership = add_member(tenant, user, role=Membership.Role.OWNER)
    return EnsuredOwner(user, membership, password)


def generate_password() -> str:
    """A random password for a new account, meant to be changed after the first login."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
