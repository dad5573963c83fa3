"""The sandbox admin pages: batches with per-line errors, items, uploads, events, faults."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sandbox.models import FaultProfile, ItemsBatch, ProductCatalog, ProductItem

from .conftest import batch_request, valid_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(push):
    return push([batch_request("CREATE", valid_item("ok")), batch_request("CREATE", valid_item("bad", price=None))])


@pytest.mark.parametrize(
    "name",
    [
        "itemsbatch",
        "productitem",
        "productcatalog",
        "productfeed",
        "feedupload",
        "serverevent",
        "faultprofile",
        "accesstoken",
    ],
)
def test_changelists_render(admin_client, pushed, name):
    response = admin_client.get(reverse(f"admin:sandbox_{name}_changelist"))
    assert response.status_code == 200


def test_batch_page_shows_per_line_errors(admin_client, pushed):
    batch = ItemsBatch.objects.get()
    response = admin_client.get(reverse("admin:sandbox_itemsbatch_change", args=[batch.pk]))
    assert response.status_code == 200
    assert b"A required field is missing" in response.content and b"bad" in response.content
    assert b"Requests received" in response.content


def test_item_page_renders(admin_client, pushed):
    item = ProductItem.objects.get(retailer_id="ok")
    assert admin_client.get(reverse("admin:sandbox_productitem_change", args=[item.pk])).status_code == 200


def test_catalog_action_sets_a_rate_limit(admin_client, account):
    catalog = ProductCatalog.objects.get()
    admin_client.post(
        reverse("admin:sandbox_productcatalog_changelist"),
        {"action": "rate_limit", "_selected_action": [catalog.pk]},
    )
    assert FaultProfile.objects.get(catalog=catalog).rate_limited is True


def test_fault_profile_added_in_the_admin_takes_its_scope_from_the_target(admin_client, account):
    catalog = ProductCatalog.objects.get()
    response = admin_client.post(
        reverse("admin:sandbox_faultprofile_add"),
        {
            "catalog": catalog.pk,
            "latency_ms": 0,
            "error_rate": 0.5,
            "fail_next": 0,
            "lose_answer_next": 0,
            "regain_access_minutes": 1,
        },
    )
    assert response.status_code == 302
    profile = FaultProfile.objects.get()
    assert profile.scope == FaultProfile.Scope.CATALOG and profile.error_rate == 0.5


def test_a_second_global_fault_profile_is_a_form_error(admin_client, db):
    FaultProfile.objects.create(outage=True)
    data = {"latency_ms": 0, "error_rate": 0, "fail_next": 0, "regain_access_minutes": 1}
    response = admin_client.post(reverse("admin:sandbox_faultprofile_add"), data)
    assert response.status_code == 200 and FaultProfile.objects.count() == 1
