"""Field names and enums agree with the official SDK (facebook-business==26.0.3)."""

from __future__ import annotations

import importlib

import pytest
from facebook_business.adobjects.productitem import ProductItem

from sandbox.graph import validation
from sandbox.graph.error_types import ERROR_TYPES
from sandbox.graph.schema import NODE_FIELDS

SDK_CLASSES = {
    "ProductCatalog": "productcatalog",
    "ProductItem": "productitem",
    "ProductFeed": "productfeed",
    "ProductFeedUpload": "productfeedupload",
    "ProductFeedUploadError": "productfeeduploaderror",
    "ProductSet": "productset",
    "CheckBatchRequestStatus": "checkbatchrequeststatus",
    "ProductCatalogDiagnosticGroup": "productcatalogdiagnosticgroup",
}


def _values(enum_class: type) -> set[str]:
    return {value for name, value in vars(enum_class).items() if not name.startswith("_")}


@pytest.mark.parametrize(("node_type", "module"), SDK_CLASSES.items())
def test_node_fields_match_the_sdk(node_type, module):
    sdk_class = getattr(importlib.import_module(f"facebook_business.adobjects.{module}"), node_type)
    assert NODE_FIELDS[node_type] == _values(sdk_class.Field)


def test_error_types_match_the_sdk():
    assert set(ERROR_TYPES) == _values(ProductItem.ErrorType) and len(ERROR_TYPES) == 184


@pytest.mark.parametrize(
    ("ours", "sdk"),
    [
        (validation.AVAILABILITY, ProductItem.Availability),
        (validation.CONDITION, ProductItem.Condition),
        (validation.GENDER, ProductItem.Gender),
        (validation.AGE_GROUP, ProductItem.AgeGroup),
    ],
)
def test_item_enums_match_the_sdk(ours, sdk):
    assert set(ours) == _values(sdk)
