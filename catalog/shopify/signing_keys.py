"""The webhook secret of each store, kept decrypted in memory for a few seconds.

Verifying a delivery needs the store's id, tenant and webhook secret. Reading the store
and decrypting the secret for every delivery was a fifth of the receiver's CPU; a burst
of deliveries comes from few shops, so this process keeps them for ``KEY_TTL``.

Rotation: a save of the store in this process forgets its entry at once (signals); a
signature that fails against a kept secret is checked again against the database, so a
new secret works from its first delivery in every process. Another process may still
accept the *old* secret for at most ``KEY_TTL`` after a rotation made elsewhere (e.g.
by ``connect_shopify``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from catalog.models import ShopifyStore

# Short: bounds how long another process accepts a secret rotated away from.
KEY_TTL = 10.0
# Entries are only added for shops that exist; the bound is a guard, not a tuning knob.
MAX_ENTRIES = 10_000

_keys: dict[str, tuple[float, StoreKey]] = {}


@dataclass(frozen=True)
class StoreKey:
    """What receiving a delivery needs from its store."""

    store_id: int
    tenant_id: int
    secret: str


def lookup(shop_domain: str, *, fresh: bool = False) -> StoreKey | None:
    """The store key of ``shop_domain`` (lower-case), from memory unless expired or ``fresh``."""
    now = time.monotonic()
    if not fresh:
        entry = _keys.get(shop_domain)
        if entry is not None and entry[0] > now:
            return entry[1]
    row = ShopifyStore.objects.filter(shop_domain=shop_domain).only("id", "tenant_id", "webhook_secret").first()
    if row is None:
        _keys.pop(shop_domain, None)  # unknown shops are never kept: no growth from junk domains
        return None
    key = StoreKey(row.pk, row.tenant_id, row.webhook_secret or "")
    if len(_keys) >= MAX_ENTRIES:
        _keys.clear()
    _keys[shop_domain] = (now + KEY_TTL, key)
    return key


def forget(shop_domain: str | None = None) -> None:
    """Drop one shop's key (all keys without an argument)."""
    if shop_domain is None:
        _keys.clear()
    else:
        _keys.pop(shop_domain, None)


def forget_store(sender, instance: ShopifyStore, **kwargs) -> None:
    """post_save / post_delete receiver: a saved store may carry a new secret or domain."""
    # The domain may have changed too: drop every entry of this store id.
    for domain, (_expires, key) in list(_keys.items()):
        if key.store_id == instance.pk or domain == instance.shop_domain:
            _keys.pop(domain, None)
