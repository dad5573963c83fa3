"""factory-boy factories for the diagnostics models."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.tests.factories import CatalogFactory, VariantFactory
from diagnostics.models import CatalogIssue, DiagnosticsRun, ErrorType, HealthSnapshot, ItemIssue, Priority


class ErrorTypeFactory(DjangoModelFactory):
    class Meta:
        model = ErrorType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"TEST_ERROR_{n}")
    title = factory.LazyAttribute(lambda e: e.code.replace("_", " ").capitalize())
    description = "Something is wrong with this product."
    fix = "Fix it in Shopify."
    priority = Priority.HIGH
    fix_location = ErrorType.FixLocation.SHOPIFY_PRODUCT


class ItemIssueFactory(DjangoModelFactory):
    class Meta:
        model = ItemIssue

    variant = factory.SubFactory(VariantFactory)
    tenant = factory.SelfAttribute("variant.tenant")
    catalog = factory.LazyAttribute(lambda i: i.variant.catalog or CatalogFactory(tenant=i.variant.tenant))
    error_type = factory.SubFactory(ErrorTypeFactory)
    source = ItemIssue.Source.DIAGNOSTICS_POLL
    priority = Priority.HIGH
    message = "Meta's description of the problem."
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


class CatalogIssueFactory(DjangoModelFactory):
    class Meta:
        model = CatalogIssue

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    error_type = factory.SubFactory(ErrorTypeFactory)
    source = CatalogIssue.Source.INTEGRATION
    priority = Priority.HIGH
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


class HealthSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = HealthSnapshot

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    taken_at = factory.LazyFunction(timezone.now)


class DiagnosticsRunFactory(DjangoModelFactory):
    class Meta:
        model = DiagnosticsRun

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    kind = DiagnosticsRun.Kind.POLL
    status = DiagnosticsRun.Status.OK
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
