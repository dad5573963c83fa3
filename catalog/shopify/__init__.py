"""Shopify in: Admin API client, import (paged and bulk), webhooks, store connection."""
