"""Local stand-in for the Shopify Admin API (GraphQL, bulk operations, signed webhooks)."""
