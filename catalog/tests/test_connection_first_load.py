"""Settings → WhatsApp Connection right on first load (issue 18 part 3), without pressing anything."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Catalog

pytestmark = pytest.mark.django_db

URL = reverse("connection:whatsapp")


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_connected_catalog_is_offered_even_before_the_list_is_read(owner_client, catalog):
    catalog.connection.available_catalogs = []
    catalog.connection.save()
    html = page(owner_client)
    assert "reaches no catalog" not in html
    assert f'value="{catalog.meta_catalog_id}" id="cat-{catalog.meta_catalog_id}" checked' in html


def test_a_created_catalog_has_no_flow_preselected(owner_client, catalog):
    assert catalog.flow == Catalog.Flow.CREATE
    html = page(owner_client)
    assert 'value="import" required checked' not in html and 'value="link" required checked' not in html


@pytest.mark.parametrize("flow", [Catalog.Flow.IMPORT, Catalog.Flow.LINK])
def test_an_imported_or_linked_catalog_has_its_own_flow_preselected(owner_client, catalog, flow):
    Catalog.objects.filter(pk=catalog.pk).update(flow=flow)
    assert f'value="{flow}" required checked' in page(owner_client)


def test_staff_who_may_only_look_are_not_told_to_press_buttons(staff_client, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(
        checks_at=timezone.now(), checks_error="", event_sources=[], commerce_cta=""
    )
    html = page(staff_client)
    section = html.split('id="checks"', 1)[1].split("</section>", 1)[0]
    assert "Re-check" not in section and "Connect pixel" not in section
    assert "An owner of the shop can connect" in section


def test_owner_sees_the_buttons_the_fix_names(owner_client, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(
        checks_at=timezone.now(), checks_error="", event_sources=[], commerce_cta=""
    )
    section = page(owner_client).split('id="checks"', 1)[1].split("</section>", 1)[0]
    assert "“Re-check”" in section and ">Re-check</button>" in section
