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


# -- the merchant's product page: why not on WhatsApp, and since when -----------------------------


def _product_page(catalog, client, variant: Variant, language: str = "en") -> str:  # noqa: F811
    from catalog import tenants
    from catalog.models import Membership
    from catalog.tests.factories import UserFactory

    owner = UserFactory(username=f"owner-{variant.pk}-{language}")
    tenants.add_member(catalog.tenant, owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    return client.get(f"/health/products/{variant.product_id}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def _two_days_earlier(variant: Variant) -> None:
    """The item's history so far happened two days ago: "since" must be today's event, not its first sync."""
    from datetime import timedelta

    from django.db.models import F

    VariantEvent.objects.filter(variant_id=variant.pk).update(at=F("at") - timedelta(days=2))


def _since(variant: Variant, kind: str, language: str = "en") -> str:
    from django.utils import dateformat, timezone, translation

    at = VariantEvent.objects.filter(variant_id=variant.pk, kind=kind).latest("at").at
    with translation.override(language):  # the month's abbreviation is the reader's language's too
        return translation.gettext("Since %(since)s") % {
            "since": dateformat.format(timezone.localtime(at), "j M Y, H:i")
        }


def test_the_product_page_says_why_an_item_rejected_after_it_was_live_is_not_shown_and_since_when(catalog, client):  # noqa: F811
    from sandbox.models import ProductItem

    [variant] = add_variants(catalog, 1)
    push_and_confirm(catalog)
    poll_verdicts(catalog, push.client_for(catalog))
    assert 'data-testid="not-shown-since"' not in _product_page(catalog, client, variant)  # live: nothing to date
    _two_days_earlier(variant)

    ProductItem.objects.filter(retailer_id=variant.retailer_id).update(review_status="rejected")
    poll_verdicts(catalog, push.client_for(catalog))

    page = _product_page(catalog, client, variant)
    assert "rejected by Meta&#x27;s review" in page or "rejected by Meta's review" in page
    assert _since(variant, Kind.REVIEW_REJECTED) in page  # the rejection, not the first sync
    assert "Meta&#x27;s verdict: rejected in review" in page or "Meta's verdict: rejected in review" in page
    in_french = _product_page(catalog, client, variant, language="fr")
    assert _since(variant, Kind.REVIEW_REJECTED, language="fr") in in_french  # "Depuis le 4 Déc 2026, …"


def test_the_product_page_says_a_live_item_is_not_on_whatsapp_when_whatsapp_is_off_and_since_when(catalog, client):  # noqa: F811
    from sandbox.models import ProductItem

    [variant] = add_variants(catalog, 1)
    push_and_confirm(catalog)
    poll_verdicts(catalog, push.client_for(catalog))
    _two_days_earlier(variant)
    item = ProductItem.objects.get(retailer_id=variant.retailer_id)
    item.data = {**item.data, "disabled_capabilities": ["whatsapp"]}
    item.save(update_fields=["data"])
    poll_verdicts(catalog, push.client_for(catalog))

    page = _product_page(catalog, client, variant)
    assert "not on WhatsApp: WhatsApp is turned off for this item in Commerce Manager" in page
    assert "available on WhatsApp" not in page
    assert _since(variant, Kind.WHATSAPP) in page
