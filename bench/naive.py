"""Naive baselines that must run inside the server: what a plugin writes, item by item.

Served only by the bench (``bench/urls.py``), never by the project's URLconf.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def shopify_webhook(request):
    """A plugin's inline webhook handler: find the store, verify, then read + save each variant."""
    from catalog.models import ShopifyStore, Variant

    store = ShopifyStore.objects.filter(shop_domain=request.headers.get("X-Shopify-Shop-Domain", "")).first()
    if store is None:
        return HttpResponse("unknown shop", status=401)
    expected = base64.b64encode(hmac.new(store.webhook_secret.encode(), request.body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, request.headers.get("X-Shopify-Hmac-Sha256", "").encode()):
        return HttpResponse("bad signature", status=401)
    for item in json.loads(request.body).get("variants", []):
        variant = Variant.objects.get(tenant_id=store.tenant_id, shopify_variant_id=item["id"])
        variant.price = Decimal(item["price"])
        variant.save()
    return HttpResponse("ok")
