"""GraphQL documents sent to the Shopify Admin API (docs/shopify-api.md §2-§5).

Plain selections, no named fragments (one inline ``... on Video``), so the same field
lists serve the paged queries and the bulk operation. Page sizes keep each query's
requested cost well below Shopify's single-query limit (1,000 points): a connection
costs about 2 + first x node cost.
"""

# The product metafields Galantis reads ("namespace.key"), what each becomes in Meta and
# where it is documented: docs/field-mapping.md. ``custom`` is the namespace Shopify gives
# merchant-defined metafields; ``mm-google-shopping`` is the one Shopify's Google & YouTube
# channel writes gender and age group to.
METAFIELD_KEYS = (
    "custom.material",
    "custom.pattern",
    "custom.gender",
    "custom.age_group",
    "custom.sale_start_date",
    "custom.sale_end_date",
    "mm-google-shopping.gender",
    "mm-google-shopping.age_group",
)


def fill(document: str, **parts: object) -> str:
    """Put field lists into a document: ``@NAME@`` -> parts["NAME"] (GraphQL uses both $ and {})."""
    for name, value in parts.items():
        document = document.replace(f"@{name}@", str(value))
    return document


# Products per page of the paged import (139 points each requested with the nested
# connections below: 7 x 139 + 2 = 975); the client halves it if Shopify still says the
# query is too expensive (MAX_COST_EXCEEDED). What a page is charged in the end (the actual
# cost, ~42 points a generated product) is what paces a paged import: the bucket refills at
# the restore rate (100 points/s on Standard), so ~2.4 products/s; larger stores go bulk.
PRODUCTS_PAGE = 7
# Variants fetched with each product; products with more page through product(id:).
VARIANTS_PER_PRODUCT = 20
# Single-product variant pages: a variant costs 4 points (itself, inventoryItem, image,
# selectedOptions), so 200 a page = 802 points, under the 1,000-point single-query limit.
VARIANTS_PAGE = 200
MEDIA_PER_PRODUCT = 10
# Only the metafields the mapping reads are asked for (records.METAFIELD_KEYS).
METAFIELDS_PER_PRODUCT = 8
COLLECTIONS_PAGE = 50
COLLECTION_PRODUCTS_PAGE = 250

SHOP_FIELDS = "name myshopifyDomain currencyCode primaryDomain { url host }"
PRODUCT_FIELDS = (
    "id legacyResourceId title handle descriptionHtml vendor productType status tags "
    "onlineStoreUrl publishedAt updatedAt "
    "featuredMedia { preview { image { url altText } } } "
    "category { id name fullName }"
)
# Videos carry their files in ``sources`` (Meta's video needs a downloadable file).
MEDIA_FIELDS = "id mediaContentType preview { image { url altText } } ... on Video { sources { url mimeType } }"
METAFIELD_FIELDS = "namespace key value type"
METAFIELD_KEYS_ARG = "[" + ", ".join(f'"{key}"' for key in METAFIELD_KEYS) + "]"
VARIANT_FIELDS = (
    "id legacyResourceId title sku price compareAtPrice position inventoryQuantity inventoryPolicy "
    "inventoryItem { id legacyResourceId tracked } selectedOptions { name value } image { url altText } updatedAt"
)
COLLECTION_FIELDS = "id legacyResourceId title handle updatedAt descriptionHtml image { url }"
BULK_OPERATION_FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl"
)
_PARTS = {
    "SHOP": SHOP_FIELDS,
    "PRODUCT": PRODUCT_FIELDS,
    "MEDIA": MEDIA_FIELDS,
    "METAFIELD": METAFIELD_FIELDS,
    "METAFIELD_KEYS": METAFIELD_KEYS_ARG,
    "METAFIELDS_FIRST": METAFIELDS_PER_PRODUCT,
    "VARIANT": VARIANT_FIELDS,
    "COLLECTION": COLLECTION_FIELDS,
    "BULK": BULK_OPERATION_FIELDS,
    "MEDIA_FIRST": MEDIA_PER_PRODUCT,
    "VARIANTS_FIRST": VARIANTS_PER_PRODUCT,
}

SHOP = fill("query Shop { shop { @SHOP@ } }", **_PARTS)

PRODUCTS_COUNT = "query ProductsCount($query: String) { productsCount(query: $query) { count } }"

PRODUCTS = fill(
    """
query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      @PRODUCT@
      media(first: @MEDIA_FIRST@) { nodes { @MEDIA@ } }
      metafields(first: @METAFIELDS_FIRST@, keys: @METAFIELD_KEYS@) { nodes { @METAFIELD@ } }
      variants(first: @VARIANTS_FIRST@) { pageInfo { hasNextPage endCursor } nodes { @VARIANT@ } }
    }
  }
}
""",
    **_PARTS,
)

PRODUCT = fill(
    """
query Product($id: ID!) {
  product(id: $id) {
    @PRODUCT@
    media(first: @MEDIA_FIRST@) { nodes { @MEDIA@ } }
    metafields(first: @METAFIELDS_FIRST@, keys: @METAFIELD_KEYS@) { nodes { @METAFIELD@ } }
    variants(first: @VARIANTS_FIRST@) { pageInfo { hasNextPage endCursor } nodes { @VARIANT@ } }
  }
}
""",
    **_PARTS,
)

PRODUCT_VARIANTS = fill(
    """
query ProductVariants($id: ID!, $first: Int!, $after: String) {
  product(id: $id) {
    variants(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { @VARIANT@ } }
  }
}
""",
    **_PARTS,
)

COLLECTIONS = fill(
    """
query Collections($first: Int!, $after: String) {
  collections(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { @COLLECTION@ }
  }
}
""",
    **_PARTS,
)

COLLECTION = fill("query Collection($id: ID!) { collection(id: $id) { @COLLECTION@ } }", **_PARTS)

COLLECTION_PRODUCTS = """
query CollectionProducts($id: ID!, $first: Int!, $after: String) {
  collection(id: $id) {
    products(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { legacyResourceId } }
  }
}
"""

INVENTORY_ITEM = """
query InventoryItem($id: ID!) {
  inventoryItem(id: $id) {
    id legacyResourceId tracked updatedAt
    variant { legacyResourceId inventoryQuantity updatedAt product { legacyResourceId } }
  }
}
"""

# The bulk query has no first/after/pageInfo; nested connections become their own
# JSONL lines carrying "__parentId" (docs/shopify-api.md §5). At most 5 connections, depth 2
# (so metafields are the product's only: a variant's would be depth 3).
BULK_PRODUCTS = fill(
    """
{
  products {
    edges { node {
      @PRODUCT@
      media { edges { node { @MEDIA@ } } }
      metafields(keys: @METAFIELD_KEYS@) { edges { node { id @METAFIELD@ } } }
      variants { edges { node { @VARIANT@ } } }
    } }
  }
}
""",
    **_PARTS,
)

BULK_COLLECTIONS = fill(
    """
{
  collections {
    edges { node {
      @COLLECTION@
      products { edges { node { id legacyResourceId } } }
    } }
  }
}
""",
    **_PARTS,
)

BULK_RUN_QUERY = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_OPERATION = fill(
    """
query BulkOperation($id: ID!) {
  node(id: $id) { ... on BulkOperation { @BULK@ } }
}
""",
    **_PARTS,
)

CURRENT_BULK_OPERATION = fill("query { currentBulkOperation(type: QUERY) { @BULK@ } }", **_PARTS)

BULK_CANCEL = """
mutation BulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}
"""

# @ADDRESS@: `uri` from 2025-10, the HTTP endpoint's callbackUrl before (see client).
WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic @ADDRESS@ }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic @ADDRESS@ }
    userErrors { field message }
  }
}
"""
