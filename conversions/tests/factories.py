"""factory-boy factories of the Conversions API models."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.tests.factories import CatalogFactory, TenantFactory
from conversions.models import ConversionEvent, ConversionsSettings


class ConversionsSettingsFactory(DjangoModelFactory):
    class Meta:
        model = ConversionsSettings
        django_get_or_create = ("tenant",)

    tenant = factory.SubFactory(TenantFactory)


class ConversionEventFactory(DjangoModelFactory):
    class Meta:
        model = ConversionEvent

    catalog = factory.SubFactory(CatalogFactory)
    tenant = factory.SelfAttribute("catalog.tenant")
    store = factory.SelfAttribute("catalog.store")
    shopify_order_id = factory.Sequence(lambda n: 5_500_000_000_000 + n)
    order_name = factory.Sequence(lambda n: f"#{1001 + n}")
    event_id = factory.LazyAttribute(lambda e: str(e.shopify_order_id))
    event_time = factory.LazyFunction(timezone.now)
    currency = "USD"
    payload = factory.LazyAttribute(
        lambda e: {
            "event_name": "Purchase",
            "event_time": int(e.event_time.timestamp()),
            "event_id": e.event_id,
            "action_source": "website",
            "user_data": {"em": ["a" * 64], "client_user_agent": "Mozilla/5.0"},
            "custom_data": {
                "currency": "USD",
                "value": 10,
                "content_ids": ["1"],
                "content_type": "product",
                "contents": [{"id": "1", "quantity": 1, "item_price": 10}],
                "order_id": e.event_id,
                "num_items": 1,
            },
        }
    )
    user_data_keys = ["client_user_agent", "em"]
