"""The error taxonomy: every SDK ErrorType, our own types, Meta's texts, unknown codes."""

import re
from pathlib import Path

import pytest

from diagnostics import error_catalog as ec
from diagnostics.models import ErrorType, Priority
from diagnostics.taxonomy import (
    ErrorTypeCache,
    classify_message,
    error_type_for,
    load_error_taxonomy,
    update_meta_texts,
)

pytestmark = pytest.mark.django_db


def test_sdk_enum_has_184_error_types():
    assert len(ec.sdk_error_types()) == 184


def test_the_vendored_error_types_are_the_sdks():
    """diagnostics/data/error_types.txt is the pinned SDK's ProductItem.ErrorType (the SDK is a test dependency)."""
    from facebook_business.adobjects.productitem import ProductItem

    sdk = sorted(value for name, value in vars(ProductItem.ErrorType).items() if not name.startswith("_"))
    assert ec.sdk_error_types() == sdk


def test_product_code_does_not_import_the_sdk():
    root = Path(__file__).resolve().parents[2]
    imports_sdk = re.compile(r"^\s*(from|import)\s+facebook_business", re.MULTILINE)
    for package in ("catalog", "diagnostics", "conversions", "alerts", "galantis"):
        for path in (root / package).rglob("*.py"):
            if "tests" not in path.parts:
                assert not imports_sdk.search(path.read_text()), path


def test_every_sdk_error_type_is_loaded_with_our_wording():
    load_error_taxonomy()
    codes = set(ErrorType.objects.filter(source=ErrorType.Source.META, known=True).values_list("code", flat=True))
    assert set(ec.sdk_error_types()) <= codes
    image = ErrorType.objects.get(code="IMAGE_RESOLUTION_LOW")
    assert image.title == "Image resolution too low"
    assert image.fix and image.help_url == ec.HELP_IMAGE_SPECS
    assert image.fix_location == ErrorType.FixLocation.SHOPIFY_PRODUCT


def test_local_and_integration_types_live_in_the_same_taxonomy():
    load_error_taxonomy()
    local = ErrorType.objects.get(code="LOCAL_EMPTY_TITLE")
    token = ErrorType.objects.get(code=ec.TOKEN_REVOKED)
    assert local.source == ErrorType.Source.LOCAL
    assert token.source == ErrorType.Source.INTEGRATION
    assert token.fix_location == ErrorType.FixLocation.APP_SETTINGS


def test_loading_twice_is_idempotent_and_keeps_metas_texts():
    load_error_taxonomy()
    ErrorType.objects.filter(code="EMPTY_TITLE").update(meta_title="Meta's own title")
    before = ErrorType.objects.count()
    load_error_taxonomy()
    assert ErrorType.objects.count() == before
    assert ErrorType.objects.get(code="EMPTY_TITLE").meta_title == "Meta's own title"


def test_unknown_code_from_meta_is_stored_with_metas_text():
    et = error_type_for("BRAND_NEW_PROBLEM", title="Brand new", description="Meta's words", priority="low")
    assert et.pk and et.meta_title == "Brand new" and et.meta_description == "Meta's words"
    assert et.priority == Priority.LOW
    assert et.display_title == "Brand new"
    assert not et.known


def test_cache_creates_a_type_once():
    cache = ErrorTypeCache()
    first = cache.get("ANOTHER_NEW_TYPE", title="x")
    assert cache.get("another_new_type") == first
    assert ErrorType.objects.filter(code="ANOTHER_NEW_TYPE").count() == 1


def test_meta_texts_update_only_changed_rows(django_assert_num_queries):
    load_error_taxonomy()
    texts = {"IMAGE_RESOLUTION_LOW": {"title": "Missing or invalid images", "description": "Images must be..."}}
    assert update_meta_texts(texts) == 1
    assert update_meta_texts(texts) == 0
    assert ErrorType.objects.get(code="IMAGE_RESOLUTION_LOW").meta_title == "Missing or invalid images"


@pytest.mark.parametrize(
    ("message", "hint", "expected"),
    [
        ("A required field is missing: Products need to have prices to run in ads.", "", "PROPERTY_VALUE_MISSING"),
        ("URL Incorrectly Formatted: The provided URL is formatted incorrectly.", "", "PROPERTY_VALUE_FORMAT"),
        ("Something odd", "EMPTY_TITLE", "EMPTY_TITLE"),
        ("Completely unexpected words", "META_REJECTED", ec.BATCH_ITEM_REJECTED),
    ],
)
def test_batch_messages_are_classified(message, hint, expected):
    assert classify_message(message, hint) == expected
