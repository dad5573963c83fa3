"""The one Shopify webhook endpoint. Thin: size check, raw body, then webhooks.receive."""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from galantis.webhook_body import read_body

from . import webhooks


@csrf_exempt
@require_POST
def webhook(request):
    """``POST /shopify/webhooks/``: topic and shop come from the X-Shopify-* headers."""
    raw = read_body(request, settings.SHOPIFY_WEBHOOK_MAX_BYTES)
    if raw is None:
        return JsonResponse({"status": "Body too large."}, status=413)
    reception = webhooks.receive(raw, request.headers)
    return JsonResponse({"status": reception.message}, status=reception.status)
