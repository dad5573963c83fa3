"""factory-boy factories of the alerts models."""

import factory
from factory.django import DjangoModelFactory

from alerts.models import Alert, AlertSettings, Digest, Kind
from catalog.tests.factories import TenantFactory


class AlertSettingsFactory(DjangoModelFactory):
    class Meta:
        model = AlertSettings
        django_get_or_create = ("tenant",)

    tenant = factory.SubFactory(TenantFactory)


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = Alert

    tenant = factory.SubFactory(TenantFactory)
    kind = Kind.SYNC_PAUSED
    key = factory.Sequence(lambda n: f"sync_paused:{n}")
    title = factory.Sequence(lambda n: f"Sync of catalog {n} is paused")
    message = "Paused by staff."
    fix_url = "http://127.0.0.1:8000/admin/"
    fingerprint = "manual"


class DigestFactory(DjangoModelFactory):
    class Meta:
        model = Digest

    tenant = factory.SubFactory(TenantFactory)
    subject = "[Galantis] 1 alert"
    body = "Sync paused."
    recipients = factory.LazyFunction(lambda: ["owner@example.com"])
