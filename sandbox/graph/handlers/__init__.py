"""Graph API handlers, one module per area; importing them registers their routes."""

from . import accounts, catalogs, events, feeds, items, product_sets, reviews  # noqa: F401
