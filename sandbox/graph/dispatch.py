"""The single entry point of the Graph API sandbox: ``/sandbox/graph/[vXX.X/]{node}[/{edge}]``.

Order of work for every call: parse parameters, authenticate, resolve the node (and
check the caller may see it), let Meta's background work catch up (batches, feed
uploads, reviews), apply configured faults and BUC rate limits, then the handler.
Every answer is JSON; anything unexpected becomes Meta's code-1 error envelope.
"""

from __future__ import annotations

import logging
import random
import re
import time

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .. import faults
from . import errors, handlers, usage  # noqa: F401  (handlers registers the routes)
from .auth import authenticate
from .fields import parse_fields
from .params import parse_request
from .router import Call, find_route, resolve_node
from .work import catch_up

logger = logging.getLogger(__name__)

_VERSION = re.compile(r"^v\d+\.\d+$")
METHODS = ("GET", "POST", "DELETE")


def _respond(payload: dict, status: int, headers: dict[str, str], trace: str, version: str) -> JsonResponse:
    response = JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
    response["x-fb-trace-id"] = trace
    response["x-fb-rev"] = "1029384756"
    response["facebook-api-version"] = version
    response["Cache-Control"] = "private, no-cache, no-store, must-revalidate"
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
def graph_api(request: HttpRequest, path: str = "") -> JsonResponse:
    """Answer one Graph API call like graph.facebook.com does."""
    trace = errors.new_fbtrace_id()
    segments = [segment for segment in path.split("/") if segment]
    version = settings.META_API_VERSION
    if segments and _VERSION.match(segments[0]):
        version = segments.pop(0)
    headers: dict[str, str] = {}
    try:
        payload = _handle(request, segments, headers, trace)
        status = 200
    except errors.GraphError as error:
        payload, status = error.envelope(trace), error.http_status
        headers.update(error.headers)
        if status == 400 and error.code == 190:
            headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{error.message}"'
    except Exception:  # a sandbox bug must still look like Graph, never an HTML 500 page
        logger.exception("Graph sandbox failed on %s %s", request.method, request.path)
        error = errors.unknown_error()
        payload, status = error.envelope(trace), error.http_status
    return _respond(payload, status, headers, trace, version)


def _handle(request: HttpRequest, segments: list[str], headers: dict[str, str], trace: str) -> dict:
    if not segments:
        raise errors.unsupported_method(request.method or "GET", "the root node")
    if len(segments) > 2:
        raise errors.unknown_path("/".join(segments[2:]))
    params = parse_request(request)
    method = (request.method or "GET").upper()
    override = params.str("method").upper()
    if override in METHODS:  # Graph's ?method=delete tunnelling
        method = override
    if method not in METHODS:
        raise errors.unsupported_method(method, "the Graph API")
    now = timezone.now()
    caller = authenticate(request, params, now)
    node_id, edge = segments[0], (segments[1] if len(segments) == 2 else "")
    resolved = resolve_node(node_id, caller, method)
    if resolved.node_type == "root":
        if edge:
            raise errors.unknown_path(edge)
        edge = node_id  # /debug_token and /catalog_all_errors are edges of the root
    found = find_route(resolved.node_type, edge, method)
    if found.scope:
        caller.require_scope(found.scope)
    call = Call(
        request=request,
        params=params,
        caller=caller,
        method=method,
        now=now,
        node_type=resolved.node_type,
        node_id=node_id,
        node=resolved.node,
        edge=edge,
        catalog=resolved.catalog,
        headers=headers,
        trace=trace,
    )
    if call.catalog is not None and catch_up(call.catalog, now) and call.node is not call.catalog:
        try:
            call.node.refresh_from_db()  # e.g. the upload session or item that was just processed
        except ObjectDoesNotExist:
            raise errors.unknown_object(node_id, method) from None  # deleted by that work
    active = _apply_faults(call)
    if "fields" in params:
        call.selection = parse_fields(params.str("fields"))
    answer = found.handler(call)
    if method != "GET" and active.losing_profiles and active.take_lost_answer():
        raise errors.transient()  # the work above is done and kept; only the answer is lost
    return answer


def _apply_faults(call: Call) -> faults.ActiveFaults:
    """Outage, latency, transient errors and BUC rate limits configured for this call."""
    active = faults.active_faults(call.catalog, call.caller.token)
    if active.outage:
        raise errors.service_unavailable()
    if active.latency_ms:
        time.sleep(active.latency_ms / 1000)
    if active.take_forced_failure() or (active.error_rate and random.random() < active.error_rate):
        raise errors.transient()
    if call.catalog is None:
        return active
    use_case = usage.use_case_of(call.edge)
    calls = usage.record_call(call.catalog, use_case, call.now)
    header, limited = usage.check(call.catalog, use_case, calls, active)
    call.headers.update(header)
    if limited:
        raise usage.rate_limit_error(use_case)
    return active
