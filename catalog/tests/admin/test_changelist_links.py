"""The change list's row links: built from one reverse() per page, the same URLs as Django's."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.test import RequestFactory

from catalog.models import Product, Variant
from catalog.tests.factories import UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def changelist_of(model):
    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    return admin.site._registry[model].get_changelist_instance(request)


@pytest.mark.parametrize("model", [Variant, Product])
def test_a_row_link_is_the_url_django_reverses(model):
    changelist = changelist_of(model)
    rows = [
        SimpleNamespace(id=42),
        SimpleNamespace(id="a b/_:?%é#1"),  # admin quoting and the URL's percent-encoding both apply
    ]
    assert [changelist.url_for_result(row) for row in rows] == [
        ChangeList.url_for_result(changelist, row) for row in rows
    ]


def test_the_variant_list_links_each_row_to_its_own_page(admin_client):
    variants = [VariantFactory(), VariantFactory()]
    page = admin_client.get("/admin/catalog/variant/").content.decode()
    for variant in variants:
        assert f'href="/admin/catalog/variant/{variant.pk}/change/"' in page
