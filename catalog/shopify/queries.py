"""GraphQL documents sent to the Shopify Admin API (shared/reference/shopify.md §2-§5).

Plain selections, no fragments, so the same field lists serve the paged queries and the
bulk operation. Page sizes keep each query's requested cost well below Shopify's
single-query limit (1,000 points): a connection costs about 2 + first x node cost.
"""


def fill(document: str, **parts: object) -> str:
    """Put field lists into a document: ``@NAME@`` -> parts["NAME"] (GraphQL uses both $ and {})."""
    for name, value in parts.items():
        document = document.replace(f"@{name}@", str(value))
    return document


# Products per page of the paged import (~118 points each with the nested connections
# below: 8 x 118 + 2 = 946); the client halves it if Shopify still says the query is too
# expensive (MAX_COST_EXCEEDED).
PRODUCTS_PAGE = 8
# Variants fetched with each product; products with more page through product(id:).
VARIANTS_PER_PRODUCT = 20
# Single-product variant pages: a variant costs 4 points (itself, inventoryItem, image,
# selectedOptions), so 200 a page = 802 points, under the 1,000-point single-query limit.
VARIANTS_PAGE = 200
MEDIA_PER_PRODUCT = 10
COLLECTIONS_PAGE = 50
COLLECTION_PRODUCTS_PAGE = 250

SHOP_FIELDS = "name myshopifyDomain currencyCode primaryDomain { url host }"
PRODUCT_FIELDS = (
    "id legacyResourceId title handle descriptionHtml vendor productType status tags "
    "onlineStoreUrl publishedAt updatedAt "
    "featuredMedia { preview { image { url altText } } }"
)
MEDIA_FIELDS = "id mediaContentType preview { image { url altText } }"
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
# JSONL lines carrying "__parentId" (reference §5). At most 5 connections, depth 2.
BULK_PRODUCTS = fill(
    """
{
  products {
    edges { node {
      @PRODUCT@
      media { edges { node { @MEDIA@ } } }
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
