"""HTTP entry points of the Shopify sandbox: the Admin GraphQL endpoint and bulk result downloads."""

import json
import re
import uuid

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import bulk
from .graphql import executor
from .models import BulkOperation, Shop

VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def _json(body: object, status: int = 200, version: str | None = None) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["X-Request-Id"] = str(uuid.uuid4())
    if version:
        response["X-Shopify-API-Version"] = version
    return response


def _request_body(request: HttpRequest) -> tuple[dict | None, JsonResponse | None]:
    content_type = request.content_type or ""
    if content_type == "application/graphql":
        return {"query": request.body.decode("utf-8", errors="replace")}, None
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, _json({"errors": "Bad Request: the request body is not valid JSON"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str) or not payload["query"].strip():
        return None, _json({"errors": {"query": "Required parameter missing or invalid"}}, status=400)
    variables = payload.get("variables")
    if isinstance(variables, str) and variables.strip():
        try:
            variables = json.loads(variables)
        except ValueError:
            variables = None
    if variables is not None and not isinstance(variables, dict):
        return None, _json({"errors": {"variables": "Must be an object"}}, status=400)
    payload["variables"] = variables or None
    return payload, None


@csrf_exempt
def graphql_view(request: HttpRequest, shop: str, version: str) -> HttpResponse:
    """``POST /admin/api/{version}/graphql.json`` of one sandbox shop."""
    if not VERSION.match(version):
        return _json({"errors": "Not Found"}, status=404)
    shop_obj = Shop.objects.filter(domain=shop).first()
    if shop_obj is None:
        return _json({"errors": "Not Found"}, status=404)
    token = request.headers.get("X-Shopify-Access-Token", "")
    if not token or token != shop_obj.access_token or shop_obj.uninstalled_at is not None:
        return _json({"errors": INVALID_TOKEN}, status=401)
    if request.method != "POST":
        return _json({"errors": "Method Not Allowed: use POST"}, status=405, version=version)
    payload, error = _request_body(request)
    if error is not None:
        return error
    body = executor.run(
        shop_obj,
        version,
        payload["query"],
        payload.get("variables"),
        payload.get("operationName") or None,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return _json(body, version=version)


def bulk_result_view(request: HttpRequest, token: str) -> HttpResponse:
    """The JSONL file of a bulk operation, streamed (the URL itself is the credential, as GCS's)."""
    op = BulkOperation.objects.filter(download_token=token).first()
    if op is None or not op.file_name:
        raise Http404("No such bulk operation result")
    path = bulk.result_path(op)
    if not path.exists() or bulk.result_expired(op):
        raise Http404("Result expired")
    response: StreamingHttpResponse = FileResponse(path.open("rb"), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="bulk-{op.legacy_id}.jsonl"'
    return response
