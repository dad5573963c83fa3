"""The error taxonomy as data: every Meta ErrorType of the SDK plus our own local and integration types.

Meta's item errors carry a type, a priority, a title and a description, but no fix
written for a Shopify merchant and no link to where the fix happens. This module adds
those: our own title, description, default priority, a concrete fix, where it is fixed
and a help link. Types are grouped by topic (the grouping follows
docs/graph-api.md §4); each topic has defaults and the common types
have their own wording. Types Meta sends that are not listed here are still stored
(with Meta's own text) by ``taxonomy.error_type_for``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.utils.translation import gettext_noop

from .sdk_error_types import sdk_error_types

# Help pages (Meta's own; the product image one is the link Meta puts in its error text).
HELP_PRODUCT_SPECS = "https://www.facebook.com/business/help/120325381656392"
HELP_IMAGE_SPECS = "https://www.facebook.com/business/help/686259348512056"
HELP_COMMERCE_POLICIES = "https://www.facebook.com/policies_center/commerce"
HELP_WHATSAPP_COMMERCE_POLICY = "https://www.whatsapp.com/legal/commerce-policy"
HELP_COMMERCE_MANAGER = "https://business.facebook.com/commerce/"
HELP_GRAPH_ERRORS = "https://developers.facebook.com/docs/graph-api/guides/error-handling"
HELP_RATE_LIMITS = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#catalog"
HELP_SYSTEM_USERS = "https://business.facebook.com/settings/system-users"
HELP_META_STATUS = "https://metastatus.com/"
HELP_BATCH_API = "https://developers.facebook.com/docs/marketing-api/reference/product-catalog/items_batch"

HIGH, MEDIUM, LOW = "HIGH", "MEDIUM", "LOW"
META, LOCAL, INTEGRATION = "meta", "local", "integration"

# Where the merchant fixes it (diagnostics.models.ErrorType.FixLocation values).
SHOPIFY_PRODUCT = "shopify_product"
SHOPIFY_SETTINGS = "shopify_settings"
GALANTIS_PRODUCT = "galantis_product"  # Meta-only fields (category, gender, age group, exclusion)
APP_SETTINGS = "app_settings"
COMMERCE_MANAGER = "commerce_manager"
META_HELP = "meta_help"
AUTOMATIC = "automatic"

# Prefix of catalog-level diagnostics groups (GET /{catalog_id}/diagnostics, field `type`).
DIAGNOSTICS_GROUP_PREFIX = "DIAGNOSTICS_"
# Local validation codes are catalog.items.Problem codes with this prefix, so a local
# EMPTY_TITLE and Meta's EMPTY_TITLE stay two types (different source, different fix timing).
LOCAL_PREFIX = "LOCAL_"

# Fallback types: Meta's text is kept on the issue, the type only groups it.
BATCH_ITEM_REJECTED = "BATCH_ITEM_REJECTED"
BATCH_ITEM_WARNING = "BATCH_ITEM_WARNING"
FEED_UPLOAD_ERROR = "FEED_UPLOAD_ERROR"
UNKNOWN_META_ERROR = "UNKNOWN_META_ERROR"

# Integration types (catalog level).
TOKEN_EXPIRED = "TOKEN_EXPIRED"
TOKEN_REVOKED = "TOKEN_REVOKED"
TOKEN_INVALID = "TOKEN_INVALID"
PERMISSION_DENIED = "PERMISSION_DENIED"
RATE_LIMITED = "RATE_LIMITED"
META_OUTAGE = "META_OUTAGE"
META_REQUEST_REJECTED = "META_REQUEST_REJECTED"
ITEMS_NOT_IN_SHOPIFY = "ITEMS_NOT_IN_SHOPIFY"


@dataclass(frozen=True)
class ErrorDefinition:
    """One row of the taxonomy as we ship it (Meta's own texts are added at run time)."""

    code: str
    source: str
    category: str
    priority: str
    title: str
    description: str
    fix: str
    fix_location: str
    help_url: str = ""


def humanize_code(code: str) -> str:
    """``IMAGE_FETCH_FAILED_FORBIDDEN`` -> ``Image fetch failed forbidden`` (a last-resort title)."""
    words = code.replace("_", " ").strip().lower()
    return (words[:1].upper() + words[1:]) if words else code


@dataclass(frozen=True)
class _Topic:
    category: str
    priority: str
    description: str
    fix: str
    fix_location: str
    help_url: str
    codes: tuple[str, ...]


TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "images",
        MEDIUM,
        gettext_noop("Meta could not use this product's images, or they do not meet its image rules."),
        gettext_noop(
            "Open the product in Shopify, replace the image with a JPEG or PNG of at least 500 x 500 pixels "
            "and under 8 MB, then save: the new image is sent to Meta automatically."
        ),
        SHOPIFY_PRODUCT,
        HELP_IMAGE_SPECS,
        (
            "BAD_QUALITY_IMAGE",
            "DUPLICATE_IMAGES",
            "EMPTY_IMAGE_URL",
            "IMAGE_FETCH_FAILED",
            "IMAGE_FETCH_FAILED_BAD_GATEWAY",
            "IMAGE_FETCH_FAILED_FILE_SIZE_EXCEEDED",
            "IMAGE_FETCH_FAILED_FORBIDDEN",
            "IMAGE_FETCH_FAILED_LINK_BROKEN",
            "IMAGE_FETCH_FAILED_TIMED_OUT",
            "IMAGE_RESOLUTION_LOW",
            "INVALID_IMAGES",
            "ITEM_WITHOUT_VIDEO",
            "NOT_ENOUGH_IMAGES",
            "TOP_PRODUCT_WITHOUT_VIDEOS",
            "VIDEO_FETCH_FAILED",
            "VIDEO_FETCH_FAILED_BAD_GATEWAY",
            "VIDEO_FETCH_FAILED_FILE_SIZE_EXCEEDED",
            "VIDEO_FETCH_FAILED_FORBIDDEN",
            "VIDEO_FETCH_FAILED_LINK_BROKEN",
            "VIDEO_FETCH_FAILED_RATE_LIMITED",
            "VIDEO_FETCH_FAILED_SERVER_ERROR",
            "VIDEO_FETCH_FAILED_TIMED_OUT",
            "VIDEO_ISSUE_GENERIC",
            "VIDEO_NOT_DOWNLOADABLE",
        ),
    ),
    _Topic(
        "missing_data",
        MEDIUM,
        gettext_noop("Information Meta needs for this product is missing."),
        gettext_noop("Open the product in Shopify and fill in the missing information, then save."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
        (
            "EMPTY_AVAILABILITY",
            "EMPTY_BRAND",
            "EMPTY_CONDITION",
            "EMPTY_DESCRIPTION",
            "EMPTY_PRICE",
            "EMPTY_PRODUCT_URL",
            "EMPTY_SELLER_DESCRIPTION",
            "EMPTY_TITLE",
            "ITEM_GROUP_NOT_SPECIFIED",
            "MISSING_CHECKOUT",
            "MISSING_CHECKOUT_CURRENCY",
            "MISSING_COLOR",
            "MISSING_COUNTRY_OVERRIDE_IN_SHIPPING_PROFILE",
            "MISSING_EVENT",
            "MISSING_INDIA_COMPLIANCE_FIELDS",
            "MISSING_SHIPPING_PROFILE",
            "MISSING_SIZE",
            "MISSING_TAX_CATEGORY",
            "NO_CONTENT_ID",
            "PROPERTY_VALUE_MISSING",
            "PROPERTY_VALUE_MISSING_WARNING",
            "RETAILER_ID_NOT_PROVIDED",
            "UNIQUE_PRODUCT_IDENTIFIER_MISSING",
        ),
    ),
    _Topic(
        "field_format",
        MEDIUM,
        gettext_noop("A value of this product is not in a format Meta accepts."),
        gettext_noop("Open the product in Shopify, correct the value Meta names in its message, then save."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
        (
            "ADDRESS_BLOCKLISTED_IN_MARKET",
            "AGGREGATED_LOCALIZATION_ISSUES",
            "CANNOT_EDIT_SUBSCRIPTION_PRODUCTS",
            "DUPLICATE_TITLE_AND_DESCRIPTION",
            "EXTERNAL_MERCHANT_ID_MISMATCH",
            "GENERIC_INVALID_FIELD",
            "INVALID_COMMERCE_TAX_CATEGORY",
            "INVALID_COMSCORE_MARKET_CODES",
            "INVALID_CONSOLIDATED_LOCALITY_INFORMATION",
            "INVALID_CONTENT_ID",
            "INVALID_DEALER_COMMUNICATION_PARAMETERS",
            "INVALID_DMA_CODES",
            "INVALID_FB_PAGE_ID",
            "INVALID_MONETIZER_RETURN_POLICY",
            "INVALID_OFFER_DISCLAIMER_URL",
            "INVALID_OFFER_END_DATE",
            "INVALID_PRE_ORDER_PARAMS",
            "INVALID_RANGE_FOR_AREA_SIZE",
            "INVALID_RANGE_FOR_BUILT_UP_AREA_SIZE",
            "INVALID_RANGE_FOR_NUM_OF_BATHS",
            "INVALID_RANGE_FOR_NUM_OF_BEDS",
            "INVALID_RANGE_FOR_NUM_OF_ROOMS",
            "INVALID_RANGE_FOR_PARKING_SPACES",
            "INVALID_SALE_PRICE",
            "INVALID_SHELTER_PAGE_ID",
            "INVALID_SHIPPING_PROFILE_PARAMS",
            "INVALID_SUBSCRIPTION_DISABLE_PARAMS",
            "INVALID_SUBSCRIPTION_ENABLE_PARAMS",
            "INVALID_SUBSCRIPTION_PARAMS",
            "INVALID_TAX_EXTENSION_STATE",
            "INVALID_VEHICLE_STATE",
            "INVALID_VIRTUAL_TOUR_URL_DOMAIN",
            "ITEM_INVALID_FEATURE",
            "ITEM_OVERRIDE_EMPTY_AVAILABILITY",
            "ITEM_OVERRIDE_EMPTY_PRICE",
            "ITEM_OVERRIDE_NOT_VISIBLE",
            "ITEM_PRICE_NOT_POSITIVE",
            "NEGATIVE_PRICE",
            "OVERLAY_DISCLAIMER_EXCEEDED_MAX_LENGTH",
            "PASSING_MULTIPLE_CONTENT_IDS",
            "PRODUCT_DOMINANT_CURRENCY_MISMATCH",
            "PRODUCT_NOT_DOMINANT_CURRENCY",
            "PRODUCT_URL_EQUALS_DOMAIN",
            "PROPERTY_PRICE_CURRENCY_NOT_SUPPORTED",
            "PROPERTY_PRICE_TOO_HIGH",
            "PROPERTY_PRICE_TOO_LOW",
            "PROPERTY_UNIT_PRICE_CURRENCY_MISMATCH_ITEM_PRICE_CURRENCY",
            "PROPERTY_VALUE_CONTAINS_HTML_TAGS",
            "PROPERTY_VALUE_DESCRIPTION_CONTAINS_OFF_PLATFORM_LINK",
            "PROPERTY_VALUE_FORMAT",
            "PROPERTY_VALUE_NON_POSITIVE",
            "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH",
            "PROPERTY_VALUE_STRING_TOO_SHORT",
            "PROPERTY_VALUE_UPPERCASE",
            "PROPERTY_VALUE_UPPERCASE_WARNING",
            "QUALITY_DUPLICATED_DESCRIPTION",
            "RETAILER_ID_USED_BY_GROUP",
            "SUBSCRIPTION_INFO_NOT_ENABLED_FOR_FEED",
            "TAX_CATEGORY_NOT_SUPPORTED_IN_UK",
            "VARIANT_ATTRIBUTE_ISSUE",
            "VERSION_OVERRIDE_NOT_EXISTS",
        ),
    ),
    _Topic(
        "policy",
        HIGH,
        gettext_noop(
            "Meta's review found that this product does not follow its commerce policies, so it is not shown."
        ),
        gettext_noop(
            "Read Meta's reason in Commerce Manager. If the product breaks the policy, change or remove it in "
            "Shopify; if you think the decision is wrong, request another review in Commerce Manager."
        ),
        COMMERCE_MANAGER,
        HELP_COMMERCE_POLICIES,
        (
            "AR_DELETED_DUE_TO_UPDATE",
            "AR_POLICY_VIOLATED",
            "BIZ_MSG_GEN_AI_POLICY_VIOLATED",
            "DA_POLICY_VIOLATION",
            "ILLEGAL_PRODUCT_CATEGORY",
            "ITEM_NOT_APPROVED",
            "MARKETPLACE_PARTNER_POLICY_VIOLATION",
            "NEGATIVE_COMMUNITY_FEEDBACK",
            "PRODUCT_NOT_APPROVED",
            "SHOPS_POLICY_VIOLATION",
            "UNSUPPORTED_PRODUCT_CATEGORY",
            "WHATSAPP_MARKETING_MESSAGE_POLICY_VIOLATION",
            "WHATSAPP_POLICY_VIOLATION",
        ),
    ),
    _Topic(
        "availability",
        LOW,
        gettext_noop("Meta reports a problem with this product's stock or availability."),
        gettext_noop("Check the product's inventory and status in Shopify; the change reaches Meta automatically."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
        (
            "AVAILABLE",
            "BIG_CATALOG_WITH_ALL_ITEMS_IN_STOCK",
            "CRAWLED_AVAILABILITY_MISMATCH",
            "DELETED_ITEM",
            "DIGITAL_GOODS_NOT_AVAILABLE_FOR_CHECKOUT",
            "HIDDEN_UNTIL_PRODUCT_LAUNCH",
            "INACTIVE_MAGENTO_PRODUCT",
            "INACTIVE_SALESFORCE_COMMERCE_CLOUD_PRODUCT",
            "INACTIVE_SHOPIFY_PRODUCT",
            "INACTIVE_WOOCOMMERCE_PRODUCT",
            "INVENTORY_ZERO_AVAILABILITY_IN_STOCK",
            "IN_ANOTHER_PRODUCT_LAUNCH",
            "ITEM_STALE_OUT_OF_STOCK",
            "MARKETPLACE_SHIPPED_ITEM_EXPIRED",
            "MARKETPLACE_SHIPPED_ITEM_NOT_AVAILABLE",
            "PART_OF_PRODUCT_LAUNCH",
            "PRODUCT_EXPIRED",
            "PRODUCT_OUT_OF_STOCK",
            "SHOPIFY_ITEM_MISSING_DELIVERY_PROFILE_ZERO_INVENTORY",
        ),
    ),
    _Topic(
        "visibility",
        MEDIUM,
        gettext_noop("This product is hidden from one of Meta's channels by a setting."),
        gettext_noop("Open the catalog in Meta Commerce Manager and turn the channel back on for this product."),
        COMMERCE_MANAGER,
        HELP_COMMERCE_MANAGER,
        (
            "BIZ_MSG_AI_AGENT_DISABLED_BY_USER",
            "CHECKOUT_DISABLED_BY_USER",
            "DA_DISABLED_BY_USER",
            "GROUPS_DISABLED_BY_USER",
            "MARKETPLACE_DISABLED_BY_USER",
            "MINI_SHOPS_DISABLED_BY_USER",
            "PRODUCT_ITEM_HIDDEN_FROM_ALL_SHOPS",
            "PRODUCT_ITEM_NOT_INCLUDED_IN_ANY_SHOP",
            "PRODUCT_ITEM_NOT_VISIBLE",
            "WHATSAPP_DISABLED_BY_USER",
            "WHATSAPP_MARKETING_MESSAGE_DISABLED_BY_USER",
        ),
    ),
    _Topic(
        "checkout",
        MEDIUM,
        gettext_noop("Meta cannot offer checkout or shipping for this product."),
        gettext_noop("Complete the shop's checkout and shipping set-up in Meta Commerce Manager."),
        COMMERCE_MANAGER,
        HELP_COMMERCE_MANAGER,
        (
            "CATALOG_NOT_ONBOARDED_FOR_AI_COMMERCE",
            "COMMERCE_ACCOUNT_LEGAL_ADDRESS_INVALID",
            "COMMERCE_ACCOUNT_NOT_LEGALLY_COMPLIANT",
            "ITEM_NOT_NATIVE_COMMERCE",
            "ITEM_NOT_SHIPPABLE_FOR_SCA_SHOP",
            "ITEM_SUPPRESSED_CHECKOUT_ERROR",
            "MARKETPLACE_NOT_SHIPPED_ITEM",
            "MARKETPLACE_PARTNER_MISSING_SHIPPING_COST",
            "MARKETPLACE_PARTNER_NOT_SHIPPED_ITEM",
            "MARKETPLACE_SHIPPED_SELLER_FEATURE_BANNED",
            "MARKETPLACE_SHIPPED_SELLER_NOT_FULLY_ONBOARDED",
            "SHOPIFY_INVALID_RETAILER_ID",
            "SHOPIFY_ITEM_MISSING_SHIPPING_PROFILE",
        ),
    ),
    _Topic(
        "marketplace",
        LOW,
        gettext_noop("A Marketplace partner rule keeps this product out of Marketplace. WhatsApp is not affected."),
        gettext_noop("No change is needed for WhatsApp. For Marketplace, follow the steps in Commerce Manager."),
        COMMERCE_MANAGER,
        HELP_COMMERCE_MANAGER,
        (
            "MARKETPLACE_PARTNER_AUCTION_NO_BID_CLOSE_TIME",
            "MARKETPLACE_PARTNER_CURRENCY_NOT_VALID",
            "MARKETPLACE_PARTNER_DISTRIBUTION_DISABLED",
            "MARKETPLACE_PARTNER_LISTING_COUNTRY_NOT_MATCH_CATALOG",
            "MARKETPLACE_PARTNER_LISTING_LIMIT_EXCEEDED",
            "MARKETPLACE_PARTNER_MISSING_LATLONG",
            "MARKETPLACE_PARTNER_NOT_LOCAL_ITEM",
            "MARKETPLACE_PARTNER_RULE_LISTING_LIMIT_EXCEEDED",
            "MARKETPLACE_PARTNER_SELLER_BANNED",
            "MARKETPLACE_PARTNER_SELLER_NOT_VALID",
        ),
    ),
    _Topic(
        "events",
        LOW,
        gettext_noop("Meta is not receiving enough shopping events (Meta Pixel) for this catalog."),
        gettext_noop("Connect the store's Meta Pixel to the catalog in Settings → WhatsApp Connection."),
        APP_SETTINGS,
        HELP_COMMERCE_MANAGER,
        (
            "APP_HAS_NO_AEM_SETUP",
            "CATALOG_NOT_CONNECTED_TO_EVENT_SOURCE",
            "PURCHASE_RATE_BELOW_ADDTOCART",
            "PURCHASE_RATE_BELOW_VIEWCONTENT",
            "UNMATCHED_EVENTS",
        ),
    ),
    _Topic(
        "other",
        LOW,
        gettext_noop("Meta reports a quality problem with this product."),
        gettext_noop("Read Meta's message and correct the product in Shopify."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
        (
            "NOT_ENOUGH_UNIQUE_PRODUCTS",
            "PRODUCT_ITEM_INVALID_PARTNER_TOKENS",
            "PRODUCT_ITEM_MISSING_LOCATION_INFORMATION",
            "QUALITY_ITEM_LINK_BROKEN",
            "QUALITY_ITEM_LINK_REDIRECTING",
        ),
    ),
)

# Our own wording for the types merchants meet most: (title, priority, description, fix[, fix_location]).
# Descriptions say what is wrong in shop terms; fixes say which field in Shopify to change.
_OVERRIDES: dict[str, tuple] = {
    # Images
    "EMPTY_IMAGE_URL": (
        gettext_noop("Product has no image"),
        HIGH,
        gettext_noop("The product has no image, so Meta cannot show it."),
        gettext_noop("Add at least one image to the product in Shopify."),
    ),
    "IMAGE_FETCH_FAILED": (
        gettext_noop("Image could not be downloaded"),
        HIGH,
        gettext_noop("Meta could not download the product's main image."),
        gettext_noop("Check that the image still opens in Shopify; re-upload it and save the product."),
    ),
    "IMAGE_FETCH_FAILED_LINK_BROKEN": (
        gettext_noop("Image link is broken"),
        HIGH,
        gettext_noop("The main image's link no longer works."),
        gettext_noop("Re-upload the product image in Shopify and save the product."),
    ),
    "IMAGE_FETCH_FAILED_FORBIDDEN": (
        gettext_noop("Image blocked for Meta"),
        HIGH,
        gettext_noop("The server hosting the image refused Meta's download."),
        gettext_noop("Upload the image to Shopify itself instead of linking an external host."),
    ),
    "IMAGE_FETCH_FAILED_TIMED_OUT": (
        gettext_noop("Image download timed out"),
        MEDIUM,
        gettext_noop("Meta gave up downloading the image because the server was too slow."),
        gettext_noop("Upload a smaller image to Shopify; Meta retries on its next check."),
    ),
    "IMAGE_FETCH_FAILED_BAD_GATEWAY": (
        gettext_noop("Image server error"),
        MEDIUM,
        gettext_noop("The image host answered with an error when Meta downloaded the image."),
        gettext_noop("Re-upload the image to Shopify; Meta retries on its next check."),
    ),
    "IMAGE_FETCH_FAILED_FILE_SIZE_EXCEEDED": (
        gettext_noop("Image file too large"),
        HIGH,
        gettext_noop("The main image is larger than Meta's 8 MB limit."),
        gettext_noop("Replace the image in Shopify with one under 8 MB."),
    ),
    "IMAGE_RESOLUTION_LOW": (
        gettext_noop("Image resolution too low"),
        HIGH,
        gettext_noop("The main image is smaller than 500 x 500 pixels."),
        gettext_noop("Replace the image in Shopify with one at least 500 x 500 pixels (1024 x 1024 is best)."),
    ),
    "INVALID_IMAGES": (
        gettext_noop("Missing or invalid images"),
        HIGH,
        gettext_noop("The main image cannot be displayed."),
        gettext_noop("Replace the image in Shopify with a JPEG or PNG of at least 500 x 500 pixels."),
    ),
    "BAD_QUALITY_IMAGE": (
        gettext_noop("Low-quality image"),
        MEDIUM,
        gettext_noop("Meta found the image blurry, cropped or covered with text or a watermark."),
        gettext_noop("Use a clear photo of the product on a plain background, without text or logos."),
    ),
    "NOT_ENOUGH_IMAGES": (
        gettext_noop("Only one image"),
        LOW,
        gettext_noop("Products with several images convert better."),
        gettext_noop("Add more images (other angles, in use) to the product in Shopify."),
    ),
    "DUPLICATE_IMAGES": (
        gettext_noop("Same image on several products"),
        LOW,
        gettext_noop("Several different products use the same image."),
        gettext_noop("Give each product and variant its own image in Shopify."),
    ),
    # Missing data
    "EMPTY_TITLE": (
        gettext_noop("Title missing"),
        HIGH,
        gettext_noop("The product has no title."),
        gettext_noop("Give the product a title in Shopify."),
    ),
    "EMPTY_DESCRIPTION": (
        gettext_noop("Description missing"),
        HIGH,
        gettext_noop("The product has no description."),
        gettext_noop("Write a description for the product in Shopify."),
    ),
    "EMPTY_PRICE": (
        gettext_noop("Price missing"),
        HIGH,
        gettext_noop("The variant has no price."),
        gettext_noop("Set a price on the variant in Shopify."),
    ),
    "EMPTY_AVAILABILITY": (
        gettext_noop("Availability missing"),
        HIGH,
        gettext_noop("Meta does not know whether the product is in stock."),
        gettext_noop("Turn on inventory tracking for the variant in Shopify or set its stock."),
    ),
    "EMPTY_CONDITION": (
        gettext_noop("Condition missing"),
        HIGH,
        gettext_noop("Meta needs to know whether the product is new or used."),
        gettext_noop("Nothing to change in Shopify: contact support, we send 'new' for every product."),
    ),
    "EMPTY_BRAND": (
        gettext_noop("Brand missing"),
        HIGH,
        gettext_noop("The product has no brand."),
        gettext_noop("Fill in the product's Vendor in Shopify; it is sent to Meta as the brand."),
    ),
    "EMPTY_PRODUCT_URL": (
        gettext_noop("Product link missing"),
        HIGH,
        gettext_noop("Meta has no link to the product page."),
        gettext_noop("Publish the product to the Online Store sales channel in Shopify."),
    ),
    "PROPERTY_VALUE_MISSING": (
        gettext_noop("Required information missing"),
        HIGH,
        gettext_noop("A field Meta requires is empty for this product."),
        gettext_noop("Read Meta's message for the field name and fill it in on the product in Shopify."),
    ),
    "PROPERTY_VALUE_MISSING_WARNING": (
        gettext_noop("Recommended information missing"),
        LOW,
        gettext_noop("An optional field that helps the product be found is empty."),
        gettext_noop(
            "Fill in the field Meta names: a product category, gender or age group on "
            "the product's page in Galantis (fields only Meta has); anything else on the "
            "product in Shopify."
        ),
        GALANTIS_PRODUCT,
    ),
    "MISSING_COLOR": (
        gettext_noop("Colour missing"),
        LOW,
        gettext_noop("Variants differ by colour but no colour is given."),
        gettext_noop("Add a 'Color' option to the product's variants in Shopify."),
    ),
    "MISSING_SIZE": (
        gettext_noop("Size missing"),
        LOW,
        gettext_noop("Variants differ by size but no size is given."),
        gettext_noop("Add a 'Size' option to the product's variants in Shopify."),
    ),
    "ITEM_GROUP_NOT_SPECIFIED": (
        gettext_noop("Variant group missing"),
        MEDIUM,
        gettext_noop("Meta cannot group this item with its variants."),
        gettext_noop("Nothing to change in Shopify: re-sync the product; contact support if it stays."),
        AUTOMATIC,
    ),
    "MISSING_SHIPPING_PROFILE": (
        gettext_noop("Shipping profile missing"),
        MEDIUM,
        gettext_noop("No shipping profile covers this product."),
        gettext_noop("Add the product to a shipping profile in Shopify's shipping settings."),
        SHOPIFY_SETTINGS,
    ),
    "MISSING_TAX_CATEGORY": (
        gettext_noop("Tax category missing"),
        MEDIUM,
        gettext_noop("Meta needs a tax category to offer checkout."),
        gettext_noop("Set the tax category for the product in Meta Commerce Manager."),
        COMMERCE_MANAGER,
    ),
    "MISSING_INDIA_COMPLIANCE_FIELDS": (
        gettext_noop("India compliance details missing"),
        MEDIUM,
        gettext_noop("Products sold in India need origin country, importer and manufacturer."),
        gettext_noop("Add the compliance details to the product in Meta Commerce Manager."),
        COMMERCE_MANAGER,
    ),
    "UNIQUE_PRODUCT_IDENTIFIER_MISSING": (
        gettext_noop("Barcode (GTIN) or MPN missing"),
        LOW,
        gettext_noop("Without a GTIN or MPN Meta matches the product less well."),
        gettext_noop("Fill in the variant's Barcode (GTIN) in Shopify."),
    ),
    "RETAILER_ID_NOT_PROVIDED": (
        gettext_noop("Item id missing"),
        HIGH,
        gettext_noop("The item reached Meta without an id."),
        gettext_noop("Nothing to change in Shopify: contact support."),
        AUTOMATIC,
    ),
    "NO_CONTENT_ID": (
        gettext_noop("Item id missing"),
        HIGH,
        gettext_noop("The item reached Meta without a content id."),
        gettext_noop("Nothing to change in Shopify: contact support."),
        AUTOMATIC,
    ),
    # Field format / value
    "ITEM_PRICE_NOT_POSITIVE": (
        gettext_noop("Price is zero or negative"),
        HIGH,
        gettext_noop("Meta only accepts prices above zero."),
        gettext_noop("Set a price above zero on the variant in Shopify."),
    ),
    "NEGATIVE_PRICE": (
        gettext_noop("Negative price"),
        HIGH,
        gettext_noop("The price is below zero."),
        gettext_noop("Set a price above zero on the variant in Shopify."),
    ),
    "INVALID_SALE_PRICE": (
        gettext_noop("Sale price not lower than price"),
        MEDIUM,
        gettext_noop("A sale price must be lower than the regular price."),
        gettext_noop("In Shopify, make 'Compare-at price' higher than 'Price' or clear it."),
    ),
    "PROPERTY_PRICE_CURRENCY_NOT_SUPPORTED": (
        gettext_noop("Currency not supported"),
        HIGH,
        gettext_noop("Meta does not accept this currency for the catalog."),
        gettext_noop("Change the store currency in Shopify or contact support."),
        SHOPIFY_SETTINGS,
    ),
    "PROPERTY_PRICE_TOO_HIGH": (
        gettext_noop("Price unusually high"),
        MEDIUM,
        gettext_noop("The price looks wrong to Meta (too high)."),
        gettext_noop("Check the variant's price in Shopify."),
    ),
    "PROPERTY_PRICE_TOO_LOW": (
        gettext_noop("Price unusually low"),
        MEDIUM,
        gettext_noop("The price looks wrong to Meta (too low)."),
        gettext_noop("Check the variant's price in Shopify."),
    ),
    "PROPERTY_VALUE_FORMAT": (
        gettext_noop("Value in the wrong format"),
        HIGH,
        gettext_noop("A field's value is not in a format Meta accepts."),
        gettext_noop("Read Meta's message for the field and correct it on the product in Shopify."),
    ),
    "PROPERTY_VALUE_STRING_EXCEEDS_LENGTH": (
        gettext_noop("Text too long"),
        MEDIUM,
        gettext_noop("A text field is longer than Meta allows."),
        gettext_noop("Shorten the title (150 characters) or description (5,000) in Shopify."),
    ),
    "PROPERTY_VALUE_STRING_TOO_SHORT": (
        gettext_noop("Text too short"),
        LOW,
        gettext_noop("A text field is too short to be useful."),
        gettext_noop("Write a longer title or description in Shopify."),
    ),
    "PROPERTY_VALUE_CONTAINS_HTML_TAGS": (
        gettext_noop("Description contains HTML"),
        LOW,
        gettext_noop("Meta shows descriptions as plain text; HTML code appears as-is."),
        gettext_noop("Remove code snippets from the product description in Shopify."),
    ),
    "PROPERTY_VALUE_DESCRIPTION_CONTAINS_OFF_PLATFORM_LINK": (
        gettext_noop("Description links elsewhere"),
        MEDIUM,
        gettext_noop("The description contains a link to another website."),
        gettext_noop("Remove links from the product description in Shopify."),
    ),
    "PROPERTY_VALUE_UPPERCASE": (
        gettext_noop("Title in capitals"),
        MEDIUM,
        gettext_noop("The title is written in capital letters."),
        gettext_noop("Write the product title in normal case in Shopify."),
    ),
    "PROPERTY_VALUE_UPPERCASE_WARNING": (
        gettext_noop("Title in capitals"),
        LOW,
        gettext_noop("The title is written in capital letters."),
        gettext_noop("Write the product title in normal case in Shopify."),
    ),
    "DUPLICATE_TITLE_AND_DESCRIPTION": (
        gettext_noop("Description repeats the title"),
        LOW,
        gettext_noop("The description says nothing beyond the title."),
        gettext_noop("Write a real description for the product in Shopify."),
    ),
    "QUALITY_DUPLICATED_DESCRIPTION": (
        gettext_noop("Same description on many products"),
        LOW,
        gettext_noop("Several products share one description."),
        gettext_noop("Give each product its own description in Shopify."),
    ),
    "RETAILER_ID_USED_BY_GROUP": (
        gettext_noop("Item id clashes with a product group"),
        HIGH,
        gettext_noop("The variant's id is already used as a product group id in the catalog."),
        gettext_noop("Nothing to change in Shopify: contact support to re-key the catalog."),
        AUTOMATIC,
    ),
    "INVALID_CONTENT_ID": (
        gettext_noop("Invalid item id"),
        HIGH,
        gettext_noop("Meta rejected the item's id."),
        gettext_noop("Nothing to change in Shopify: contact support."),
        AUTOMATIC,
    ),
    "VARIANT_ATTRIBUTE_ISSUE": (
        gettext_noop("Variant options unclear"),
        MEDIUM,
        gettext_noop("Variants of this product cannot be told apart."),
        gettext_noop("Give every variant a distinct option value (size, colour…) in Shopify."),
    ),
    "PRODUCT_URL_EQUALS_DOMAIN": (
        gettext_noop("Link goes to the home page"),
        MEDIUM,
        gettext_noop("The product link points to the shop's home page, not the product."),
        gettext_noop("Publish the product to the Online Store sales channel in Shopify."),
    ),
    "PRODUCT_NOT_DOMINANT_CURRENCY": (
        gettext_noop("Different currency"),
        LOW,
        gettext_noop("The product's currency differs from most of the catalog."),
        gettext_noop("Use one currency for the whole store in Shopify."),
        SHOPIFY_SETTINGS,
    ),
    # Policy
    "PRODUCT_NOT_APPROVED": (
        gettext_noop("Rejected by Meta's review"),
        HIGH,
        gettext_noop("Meta's review rejected this product; it is not shown on any channel."),
        gettext_noop("Read the reason in Commerce Manager, fix the product in Shopify or request a review."),
    ),
    "ITEM_NOT_APPROVED": (
        gettext_noop("Rejected by Meta's review"),
        HIGH,
        gettext_noop("Meta's review rejected this product; it is not shown on any channel."),
        gettext_noop("Read the reason in Commerce Manager, fix the product in Shopify or request a review."),
    ),
    "WHATSAPP_POLICY_VIOLATION": (
        gettext_noop("Not allowed on WhatsApp"),
        HIGH,
        gettext_noop("The product breaks WhatsApp's commerce policy and cannot be sent in chats."),
        gettext_noop(
            "Check the WhatsApp Commerce Policy; change or remove the product, or request a review in Commerce Manager."
        ),
        COMMERCE_MANAGER,
        HELP_WHATSAPP_COMMERCE_POLICY,
    ),
    # Availability
    "PRODUCT_OUT_OF_STOCK": (
        gettext_noop("Out of stock"),
        LOW,
        gettext_noop("The product shows as unavailable to buyers."),
        gettext_noop("Restock the variant in Shopify."),
    ),
    "ITEM_STALE_OUT_OF_STOCK": (
        gettext_noop("Out of stock for a long time"),
        LOW,
        gettext_noop("The product has been out of stock for a long time."),
        gettext_noop("Restock it in Shopify, or archive it there if you no longer sell it."),
    ),
    "INVENTORY_ZERO_AVAILABILITY_IN_STOCK": (
        gettext_noop("In stock with zero quantity"),
        MEDIUM,
        gettext_noop("The product is marked in stock but has no quantity to sell."),
        gettext_noop("Set the variant's inventory in Shopify."),
    ),
    "INACTIVE_SHOPIFY_PRODUCT": (
        gettext_noop("Product not active in Shopify"),
        MEDIUM,
        gettext_noop("The product is a draft or archived in Shopify."),
        gettext_noop("Set the product status to Active in Shopify."),
    ),
    "SHOPIFY_ITEM_MISSING_DELIVERY_PROFILE_ZERO_INVENTORY": (
        gettext_noop("No delivery profile"),
        MEDIUM,
        gettext_noop("The product has no Shopify delivery profile and no stock."),
        gettext_noop("Add the product to a shipping profile in Shopify's shipping settings."),
        SHOPIFY_SETTINGS,
    ),
    "DELETED_ITEM": (
        gettext_noop("Deleted in Meta"),
        LOW,
        gettext_noop("The item was deleted from the Meta catalog."),
        gettext_noop("No action needed if you removed it; otherwise save the product in Shopify to send it again."),
        AUTOMATIC,
    ),
    "AVAILABLE": (
        "Available",
        LOW,
        gettext_noop("Meta reports the item as available."),
        gettext_noop("No action needed."),
        AUTOMATIC,
    ),
    # Visibility
    "WHATSAPP_DISABLED_BY_USER": (
        gettext_noop("Hidden from WhatsApp"),
        HIGH,
        gettext_noop("WhatsApp is turned off for this product, so customers cannot see it in chats."),
        gettext_noop("Turn WhatsApp back on for the product in Meta Commerce Manager."),
    ),
    "PRODUCT_ITEM_NOT_VISIBLE": (
        gettext_noop("Product hidden"),
        HIGH,
        gettext_noop("The product is set to hidden in the catalog."),
        gettext_noop("Publish the product to the Online Store sales channel in Shopify, then save it."),
        SHOPIFY_PRODUCT,
    ),
    "PRODUCT_ITEM_HIDDEN_FROM_ALL_SHOPS": (
        gettext_noop("Hidden from all shops"),
        MEDIUM,
        gettext_noop("The product is hidden from every shop."),
        gettext_noop("Show the product again in Meta Commerce Manager."),
    ),
    # Checkout / Shopify specific
    "SHOPIFY_ITEM_MISSING_SHIPPING_PROFILE": (
        gettext_noop("No shipping profile"),
        MEDIUM,
        gettext_noop("The product is not in any Shopify shipping profile."),
        gettext_noop("Add the product to a shipping profile in Shopify's shipping settings."),
        SHOPIFY_SETTINGS,
    ),
    "SHOPIFY_INVALID_RETAILER_ID": (
        gettext_noop("Item id not recognised"),
        MEDIUM,
        gettext_noop("Meta cannot match the item's id to a Shopify variant."),
        gettext_noop("Nothing to change in Shopify: contact support."),
        AUTOMATIC,
    ),
    # Other
    "QUALITY_ITEM_LINK_BROKEN": (
        gettext_noop("Product page link broken"),
        HIGH,
        gettext_noop("The product page link returns an error."),
        gettext_noop("Publish the product to the Online Store in Shopify and check its handle."),
    ),
    "QUALITY_ITEM_LINK_REDIRECTING": (
        gettext_noop("Product page link redirects"),
        MEDIUM,
        gettext_noop("The product page link redirects elsewhere."),
        gettext_noop("Check the product's URL handle and redirects in Shopify."),
    ),
}

# Our own types: local validation (catalog.items.local_problems codes, prefixed), fallbacks
# for Meta text without a type, and integration failures that stop the whole catalog.
_OWN: tuple[ErrorDefinition, ...] = (
    ErrorDefinition(
        LOCAL_PREFIX + "EMPTY_TITLE",
        LOCAL,
        "local",
        HIGH,
        gettext_noop("Title missing (not sent)"),
        gettext_noop("The product has no title, so we did not send it to Meta."),
        gettext_noop("Give the product a title in Shopify."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
    ),
    ErrorDefinition(
        LOCAL_PREFIX + "ITEM_PRICE_NOT_POSITIVE",
        LOCAL,
        "local",
        HIGH,
        gettext_noop("Price is zero (not sent)"),
        gettext_noop("Meta only accepts prices above zero, so we did not send this variant."),
        gettext_noop("Set a price above zero on the variant in Shopify."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
    ),
    ErrorDefinition(
        LOCAL_PREFIX + "EMPTY_IMAGE_URL",
        LOCAL,
        "local",
        HIGH,
        gettext_noop("No image (not sent)"),
        gettext_noop("Meta requires an image, so we did not send this product."),
        gettext_noop("Add at least one image to the product in Shopify."),
        SHOPIFY_PRODUCT,
        HELP_IMAGE_SPECS,
    ),
    ErrorDefinition(
        BATCH_ITEM_REJECTED,
        META,
        "ingestion",
        HIGH,
        gettext_noop("Rejected by Meta on upload"),
        gettext_noop("Meta refused this item when we sent it. Meta's message says which field is wrong."),
        gettext_noop("Correct the field Meta names on the product in Shopify; it is sent again automatically."),
        SHOPIFY_PRODUCT,
        HELP_BATCH_API,
    ),
    ErrorDefinition(
        BATCH_ITEM_WARNING,
        META,
        "ingestion",
        LOW,
        gettext_noop("Accepted with a warning"),
        gettext_noop("Meta accepted this item but warns about a field."),
        gettext_noop("Improve the field Meta names on the product in Shopify."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
    ),
    ErrorDefinition(
        FEED_UPLOAD_ERROR,
        META,
        "ingestion",
        HIGH,
        gettext_noop("Feed upload error"),
        gettext_noop("Meta could not read some rows of the catalog file we uploaded."),
        gettext_noop("Correct the product Meta names in Shopify; the next upload carries the fix."),
        SHOPIFY_PRODUCT,
        HELP_PRODUCT_SPECS,
    ),
    ErrorDefinition(
        UNKNOWN_META_ERROR,
        META,
        "other",
        MEDIUM,
        gettext_noop("Other problem reported by Meta"),
        gettext_noop("Meta reported a problem we have no guidance for yet; its own text is shown."),
        gettext_noop("Follow Meta's message; contact support if it is unclear."),
        META_HELP,
        HELP_COMMERCE_MANAGER,
    ),
    ErrorDefinition(
        TOKEN_EXPIRED,
        INTEGRATION,
        "connection",
        HIGH,
        gettext_noop("Meta access token expired"),
        gettext_noop(
            "The catalog access token has expired: nothing reaches Meta until it is renewed. "
            "Your changes are kept and sent once it is."
        ),
        gettext_noop("Generate a new token in Meta Business Settings and paste it in Settings → WhatsApp Connection."),
        APP_SETTINGS,
        HELP_SYSTEM_USERS,
    ),
    ErrorDefinition(
        TOKEN_REVOKED,
        INTEGRATION,
        "connection",
        HIGH,
        gettext_noop("Meta access token revoked"),
        gettext_noop(
            "The catalog access token was revoked (password change, logout or removed app): "
            "nothing reaches Meta until it is replaced. Your changes are kept."
        ),
        gettext_noop("Generate a new token in Meta Business Settings and paste it in Settings → WhatsApp Connection."),
        APP_SETTINGS,
        HELP_SYSTEM_USERS,
    ),
    ErrorDefinition(
        TOKEN_INVALID,
        INTEGRATION,
        "connection",
        HIGH,
        gettext_noop("Meta access token not accepted"),
        gettext_noop("Meta does not accept the catalog access token: nothing reaches Meta until it is replaced."),
        gettext_noop("Paste a valid catalog token in Settings → WhatsApp Connection."),
        APP_SETTINGS,
        HELP_SYSTEM_USERS,
    ),
    ErrorDefinition(
        PERMISSION_DENIED,
        INTEGRATION,
        "connection",
        HIGH,
        gettext_noop("Token lacks catalog permission"),
        gettext_noop(
            "The token may not manage this catalog (missing catalog_management or the catalog is not "
            "assigned to the system user)."
        ),
        gettext_noop(
            "In Meta Business Settings assign the catalog to the system user with full control, then "
            "re-check in Settings → WhatsApp Connection."
        ),
        APP_SETTINGS,
        HELP_SYSTEM_USERS,
    ),
    ErrorDefinition(
        RATE_LIMITED,
        INTEGRATION,
        "connection",
        MEDIUM,
        gettext_noop("Meta is rate limiting the catalog"),
        gettext_noop("Meta asked us to slow down. Updates are queued and resume by themselves."),
        gettext_noop("Nothing to do: sync resumes automatically when Meta allows it."),
        AUTOMATIC,
        HELP_RATE_LIMITS,
    ),
    ErrorDefinition(
        META_OUTAGE,
        INTEGRATION,
        "connection",
        MEDIUM,
        gettext_noop("Meta is not responding"),
        gettext_noop("Meta's API is failing or unreachable. Updates are queued and resume by themselves."),
        gettext_noop("Nothing to do: we retry automatically. Meta's status page shows ongoing incidents."),
        AUTOMATIC,
        HELP_META_STATUS,
    ),
    ErrorDefinition(
        META_REQUEST_REJECTED,
        INTEGRATION,
        "connection",
        HIGH,
        gettext_noop("Meta rejected a request"),
        gettext_noop("Meta rejected a request about the catalog itself (for example the catalog no longer exists)."),
        gettext_noop("Check the connected catalog in Settings → WhatsApp Connection; contact support if it stays."),
        APP_SETTINGS,
        HELP_GRAPH_ERRORS,
    ),
    ErrorDefinition(
        ITEMS_NOT_IN_SHOPIFY,
        LOCAL,
        "catalog",
        LOW,
        gettext_noop("Items in Meta that are not in Shopify"),
        gettext_noop("The Meta catalog contains items we cannot match to a Shopify variant."),
        gettext_noop("Review them in Commerce Manager and delete those you no longer sell."),
        COMMERCE_MANAGER,
        HELP_COMMERCE_MANAGER,
    ),
)

# Catalog-level diagnostics groups (ProductCatalogDiagnosticGroup.Type): title, priority, where, fix.
_DIAGNOSTICS_GROUPS: dict[str, tuple[str, str, str, str]] = {
    "AR_VISIBILITY_ISSUES": (
        gettext_noop("AR effects not shown"),
        LOW,
        COMMERCE_MANAGER,
        gettext_noop("Review the augmented-reality settings of the items in Commerce Manager."),
    ),
    "ATTRIBUTES_INVALID": (
        gettext_noop("Invalid product information"),
        MEDIUM,
        SHOPIFY_PRODUCT,
        gettext_noop("Open the products listed under Top problems and correct the values in Shopify."),
    ),
    "ATTRIBUTES_MISSING": (
        gettext_noop("Missing product information"),
        MEDIUM,
        SHOPIFY_PRODUCT,
        gettext_noop("Open the products listed under Top problems and fill in what is missing in Shopify."),
    ),
    "CATEGORY": (
        gettext_noop("Product categories"),
        LOW,
        GALANTIS_PRODUCT,
        gettext_noop(
            "Set a product category on each product's page in Galantis (a field only Meta has) "
            "so Meta can classify them."
        ),
    ),
    "CHECKOUT": (
        gettext_noop("Checkout problems"),
        MEDIUM,
        COMMERCE_MANAGER,
        gettext_noop("Finish the checkout and shipping set-up of the shop in Commerce Manager."),
    ),
    "DA_VISIBILITY_ISSUES": (
        gettext_noop("Not shown in ads"),
        LOW,
        COMMERCE_MANAGER,
        gettext_noop("Check the items' ad eligibility in Commerce Manager. WhatsApp is not affected."),
    ),
    "EVENT_SOURCE_ISSUES": (
        gettext_noop("Pixel / events"),
        LOW,
        APP_SETTINGS,
        gettext_noop("Connect the store's Meta Pixel to the catalog in Settings → WhatsApp Connection."),
    ),
    "IMAGE_QUALITY": (
        gettext_noop("Image quality"),
        MEDIUM,
        SHOPIFY_PRODUCT,
        gettext_noop("Replace the images of the products listed under Top problems in Shopify."),
    ),
    "LOW_QUALITY_TITLE_AND_DESCRIPTION": (
        gettext_noop("Titles and descriptions"),
        LOW,
        SHOPIFY_PRODUCT,
        gettext_noop("Improve the titles and descriptions of the listed products in Shopify."),
    ),
    "POLICY_VIOLATION": (
        gettext_noop("Policy violations"),
        HIGH,
        COMMERCE_MANAGER,
        gettext_noop("Read Meta's reasons in Commerce Manager; change the products in Shopify or request a review."),
    ),
    "SHOPS_VISIBILITY_ISSUES": (
        gettext_noop("Not shown in shops"),
        MEDIUM,
        COMMERCE_MANAGER,
        gettext_noop("Check the items' visibility and shop settings in Commerce Manager."),
    ),
}


def _meta_definitions() -> dict[str, ErrorDefinition]:
    by_code: dict[str, ErrorDefinition] = {}
    for topic in TOPICS:
        for code in topic.codes:
            by_code[code] = ErrorDefinition(
                code=code,
                source=META,
                category=topic.category,
                priority=topic.priority,
                title=humanize_code(code),
                description=topic.description,
                fix=topic.fix,
                fix_location=topic.fix_location,
                help_url=topic.help_url,
            )
    for code, (title, priority, description, fix, *rest) in _OVERRIDES.items():
        base = by_code[code]
        by_code[code] = replace(
            base,
            title=title,
            priority=priority,
            description=description,
            fix=fix,
            fix_location=rest[0] if rest else base.fix_location,
            help_url=rest[1] if len(rest) > 1 else base.help_url,
        )
    # An SDK value our topics do not list yet still gets a row (default wording).
    for code in sdk_error_types():
        by_code.setdefault(
            code,
            ErrorDefinition(
                code,
                META,
                "other",
                MEDIUM,
                humanize_code(code),
                gettext_noop("Meta reports a problem with this product."),
                gettext_noop("Read Meta's message and correct the product in Shopify."),
                SHOPIFY_PRODUCT,
                HELP_PRODUCT_SPECS,
            ),
        )
    return by_code


def _group_definitions() -> list[ErrorDefinition]:
    return [
        ErrorDefinition(
            DIAGNOSTICS_GROUP_PREFIX + kind,
            META,
            "diagnostics_group",
            priority,
            title,
            gettext_noop("Meta's catalog check found items with this kind of problem."),
            fix,
            fix_location,
            HELP_COMMERCE_MANAGER,
        )
        for kind, (title, priority, fix_location, fix) in _DIAGNOSTICS_GROUPS.items()
    ]


def all_definitions() -> list[ErrorDefinition]:
    """The whole shipped taxonomy: SDK types with our wording, then our own types."""
    return [*_meta_definitions().values(), *_OWN, *_group_definitions()]
