"""A test-only webhook receiver mounted next to the real routes (see `urls` below).

It verifies the HMAC exactly as docs/shopify-api.md §6 prescribes and records every request, so tests
can assert on what really crossed HTTP.
"""

import base64
import hashlib
import hmac

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

RECEIVED: list[dict] = []
SECRETS: dict[str, str] = {}  # shop domain -> client secret
FAIL_NEXT: list[int] = []  # status codes to answer before succeeding


def valid(raw_body: bytes, header_b64: str, secret: str) -> bool:
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), header_b64 or "")


@csrf_exempt
def receive(request: HttpRequest) -> HttpResponse:
    shop = request.headers.get("X-Shopify-Shop-Domain", "")
    RECEIVED.append(
        {
            "headers": dict(request.headers),
            "body": request.body,
            "hmac_ok": valid(request.body, request.headers.get("X-Shopify-Hmac-Sha256", ""), SECRETS.get(shop, "")),
        }
    )
    if FAIL_NEXT:
        return HttpResponse(status=FAIL_NEXT.pop(0))
    return HttpResponse("ok")


urlpatterns = [
    path("test-webhooks/", receive, name="test_webhook_receiver"),
    path("", include("galantis.urls")),
]
