"""Models of the Graph API sandbox (the Shopify sandbox lives in ``sandbox.shopify``)."""

from .accounts import DEFAULT_SCOPES, AccessToken, Business, SandboxApp, SystemUser
from .catalogs import CommerceMerchantSettings, Pixel, ProductCatalog, ProductSet, ServerEvent, UsageWindow
from .faults import FaultProfile
from .feeds import FeedUpload, FeedUploadError, ProductFeed
from .items import AdditionalReviewCall, ItemsBatch, ProductGroup, ProductItem
from .nodes import GraphNode, Kind, parse_fbid, to_fbid

__all__ = [
    "DEFAULT_SCOPES",
    "AdditionalReviewCall",
    "AccessToken",
    "Business",
    "CommerceMerchantSettings",
    "FaultProfile",
    "FeedUpload",
    "FeedUploadError",
    "GraphNode",
    "ItemsBatch",
    "Kind",
    "Pixel",
    "ProductCatalog",
    "ProductFeed",
    "ProductGroup",
    "ProductItem",
    "ProductSet",
    "SandboxApp",
    "ServerEvent",
    "SystemUser",
    "UsageWindow",
    "parse_fbid",
    "to_fbid",
]
