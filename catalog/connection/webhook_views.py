"""``/meta/webhooks/onboarding/``: Meta's onboarding webhook. Thin: handshake, size check, raw body."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from galantis.webhook_body import read_body

from . import onboarding


@csrf_exempt  # Meta signs the body (X-Hub-Signature-256); there is no session to forge.
@require_http_methods(["GET", "POST"])
def onboarding_webhook(request: HttpRequest) -> HttpResponse:
    """GET: Meta's subscription handshake. POST: one signed delivery (no login)."""
    if request.method == "GET":
        status, text = onboarding.handshake(request.GET)
        return HttpResponse(text, status=status, content_type="text/plain")
    raw = read_body(request, settings.META_WEBHOOK_MAX_BYTES)
    if raw is None:
        return JsonResponse({"status": "Body too large."}, status=413)
    reception = onboarding.receive(raw, request.headers)
    return JsonResponse(
        {
            "status": reception.message,
            "stored": reception.stored,
            "duplicates": reception.duplicates,
            "ignored": reception.ignored,
        },
        status=reception.status,
    )
