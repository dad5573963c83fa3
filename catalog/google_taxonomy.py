"""Shopify's product category (Standard Product Taxonomy) -> Meta's ``google_product_category``.

Meta uses ``google_product_category`` for discovery and for tax at checkout (docs/meta-ingestion-rules.md,
"Fields that make the most impact").
Shopify products carry a category of Shopify's own taxonomy (``Product.category``:
``fullName`` such as ``Apparel & Accessories > Clothing > Clothing Tops``), which grew
out of Google's and mostly shares its names. The mapping is a data file
(``catalog/data/shopify_to_google_categories.tsv``): a category takes its own entry or
that of its nearest listed ancestor. A category with no Google equivalent (Gift Cards,
Bundles, ...) or one we cannot place maps to "": the item goes without the field, never
with an error. Staff may always set the field themselves; theirs wins (``catalog.items``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "shopify_to_google_categories.tsv"
SEPARATOR = " > "
# Meta's limit for google_product_category (docs/graph-api.md §4).
CATEGORY_MAX = 250


@cache
def _table() -> dict[str, str]:
    """The mapping, keyed by the Shopify path in lower case (read once per process)."""
    table: dict[str, str] = {}
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        shopify, _, google = line.partition("\t")
        table[_key(shopify)] = google.strip()
    return table


def _key(path: str) -> str:
    return SEPARATOR.join(part.strip().lower() for part in path.split(">") if part.strip())


# A catalog has few distinct categories: each is looked up once.
@lru_cache(maxsize=4096)
def google_category(shopify_full_name: str) -> str:
    """The Google product category for a Shopify category's full name ("" when there is none)."""
    parts = _key(shopify_full_name or "").split(SEPARATOR) if shopify_full_name else []
    table = _table()
    while parts:
        found = table.get(SEPARATOR.join(parts))
        if found is not None:
            return found if len(found) <= CATEGORY_MAX else ""
        parts.pop()
    return ""
