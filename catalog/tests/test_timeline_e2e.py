"""The per-item timeline over real HTTP: what Meta's sandbox says lands on the item's timeline (issue 19)."""

from __future__ import annotations

import pytest

from catalog.models import Variant, VariantEvent
from catalog.sync import push
from catalog.tests.test_sync_e2e import add_variants, catalog, meta, push_and_confirm  # noqa: F401 (fixtures)
from diagnostics.verdicts import poll_verdicts

pytestmark = pytest.mark.django_db(transaction=True)
Kind = VariantEvent.Kind


def _kinds(variant: Variant) -> list[str]:
    return list(VariantEvent.objects.for_variant(variant.pk).order_by("at", "id").values_list("kind", flat=True))


# -- Meta's verdict -------------------------------------------------------------------------------


def test_a_whatsapp_capability_turned_off_in_meta_is_on_the_timeline_while_the_item_stays_live(catalog):  # noqa: F811
    from sandbox.models import ProductItem

    [variant] = add_variants(catalog, 1)
    push_and_confirm(catalog)
    poll_verdicts(catalog, push.client_for(catalog))
    variant.refresh_from_db()
    assert variant.verdict == Variant.Verdict.LIVE and variant.channel_review["whatsapp"] == "APPROVED"
    # The merchant turns WhatsApp off for the item in Commerce Manager: Meta stops reviewing it there.
    item = ProductItem.objects.get(retailer_id=variant.retailer_id)
    item.data = {**item.data, "disabled_capabilities": ["whatsapp"]}
    item.save(update_fields=["data"])

    poll_verdicts(catalog, push.client_for(catalog))

    variant.refresh_from_db()
    assert variant.verdict == Variant.Verdict.LIVE  # the verdict did not move
    assert _kinds(variant)[-2:] == [Kind.LIVE, Kind.WHATSAPP]
    event = VariantEvent.objects.get(variant_id=variant.pk, kind=Kind.WHATSAPP)
    assert (event.detail["whatsapp"], event.message) == ("NO_REVIEW", "WhatsApp was APPROVED")
    poll_verdicts(catalog, push.client_for(catalog))  # read again unchanged: nothing more
    assert VariantEvent.objects.filter(variant_id=variant.pk, kind=Kind.WHATSAPP).count() == 1
