"""The one Shopify webhook endpoint. Thin: size check, raw body, then webhooks.receive."""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import webhooks


@csrf_exempt
@require_POST
def webhook(request):
    """``POST /shopify/webhooks/``: topic and shop come from the X-Shopify-* headers."""
    limit = settings.SHOPIFY_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return JsonResponse({"status": "Body too large."}, status=413)
    # request.read(), not request.body: the body limit here is ours, not DATA_UPLOAD_MAX_MEMORY_SIZE,
    # and the HMAC is computed over these exact bytes.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return JsonResponse({"status": "Body too large."}, status=413)
    reception = webhooks.receive(raw, request.headers)
    return JsonResponse({"status": reception.message}, status=reception.status)
