"""The Conversions API: ``POST /{pixel_id}/events`` records events and de-duplicates them
by (event_name, event_id), as Meta does with pixel and server events (docs/graph-api.md §8).

``data`` is a JSON array (of objects or of JSON strings, as the SDK sends them) in a form
field, the query string or a JSON body. Meta's validation: event_name, event_time (a Unix
time, at most 7 days old, not in the future), a known action_source, a non-empty
user_data whose contact fields (em, ph, fn, ln, ge, db, ct, st, zp, country) are SHA-256
hex digests, and client_user_agent for website events; any bad event refuses the whole
request with code 100 and names the event's index. Faults as on every call (outage,
``fail_next``, ``error_rate``, latency); throttling from the fault profiles of the token
or of every call: ``rate_limited``, or ``rate_limit_per_hour`` counted in events per pixel
per hour, answers code 4.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from ..faults import ActiveFaults
from ..models import Pixel, ServerEvent
from . import errors
from .params import Params

MAX_EVENTS = 1000  # per request
MAX_AGE = timedelta(days=7)  # older events are refused
ACTION_SOURCES = (
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
)
# user_data keys Meta takes only hashed (client_ip_address, client_user_agent, fbc, fbp and
# external_id may come as they are).
HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country")
_SHA256 = re.compile(r"^[a-f0-9]{64}$")


def _event_error(index: int, message: str) -> errors.GraphError:
    return errors.GraphError(
        "(#100) Invalid parameter",
        code=100,
        subcode=2804003,
        user_title="Invalid event",
        user_msg=f"Event {index}: {message}",
    )


def _decode(raw: Any, index: int) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _event_error(index, "the event is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise _event_error(index, "each event must be a JSON object.")
    return raw


def _check(event: dict, index: int, now: datetime) -> None:
    if not isinstance(event.get("event_name"), str) or not event["event_name"]:
        raise _event_error(index, "event_name is required.")
    try:
        event_time = int(event.get("event_time"))
    except (TypeError, ValueError):
        raise _event_error(index, "event_time is required and must be a Unix timestamp in seconds.") from None
    if event_time > now.timestamp() + 60:
        raise _event_error(index, "event_time cannot be in the future.")
    if event_time < (now - MAX_AGE).timestamp():
        raise _event_error(index, "event_time is more than 7 days in the past.")
    if event.get("action_source") not in ACTION_SOURCES:
        raise _event_error(index, f"action_source must be one of {', '.join(ACTION_SOURCES)}.")
    user_data = event.get("user_data")
    if not isinstance(user_data, dict) or not user_data:
        raise _event_error(index, "user_data with at least one customer information parameter is required.")
    for key in HASHED_KEYS:
        if key not in user_data:
            continue
        values = user_data[key] if isinstance(user_data[key], list) else [user_data[key]]
        if not values or not all(isinstance(v, str) and _SHA256.match(v) for v in values):
            raise _event_error(index, f"user_data.{key} must be hashed: a SHA-256 digest of the normalized value.")
    if event["action_source"] == "website" and not user_data.get("client_user_agent"):
        raise _event_error(index, "client_user_agent is required for website events.")
    if "custom_data" in event and not isinstance(event["custom_data"], dict):
        raise _event_error(index, "custom_data must be an object.")


def rate_limited() -> errors.GraphError:
    return errors.GraphError("(#4) Application request limit reached", code=4, is_transient=True)


def _check_rate(pixel: Pixel, active: ActiveFaults, incoming: int, now: datetime) -> None:
    if active.rate_limited:
        raise rate_limited()
    if active.rate_limit_per_hour is not None:
        recent = ServerEvent.objects.filter(pixel=pixel, received_at__gte=now - timedelta(hours=1)).count()
        if recent + incoming > active.rate_limit_per_hour:
            raise rate_limited()


def receive_events(pixel: Pixel, params: Params, now: datetime, trace: str, active: ActiveFaults) -> dict:
    """Validate and record a Conversions API request; answer like Meta."""
    raw_events = params.json("data")
    if raw_events is None:
        raise errors.param_required("data")
    if not isinstance(raw_events, list) or not raw_events:
        raise errors.invalid_param("Param data must be a non-empty array of events")
    if len(raw_events) > MAX_EVENTS:
        raise errors.invalid_param(f"Param data can hold at most {MAX_EVENTS} events")
    _check_rate(pixel, active, len(raw_events), now)
    events = [_decode(raw, index) for index, raw in enumerate(raw_events)]
    for index, event in enumerate(events):
        _check(event, index, now)
    test_code = params.str("test_event_code")
    with transaction.atomic():
        _record(pixel, events, test_code)
        Pixel.objects.filter(pk=pixel.pk).update(last_fired_time=now)
    return {"events_received": len(events), "messages": [], "fbtrace_id": trace}


def _record(pixel: Pixel, events: list[dict], test_code: str) -> None:
    new_rows: dict[tuple[str, str], ServerEvent] = {}
    anonymous: list[ServerEvent] = []
    repeats: dict[tuple[str, str], int] = {}
    for event in events:
        key = (event["event_name"], str(event.get("event_id") or ""))
        row = ServerEvent(
            pixel=pixel,
            event_name=key[0],
            event_id=key[1],
            event_time=int(event["event_time"]),
            action_source=event.get("action_source") or "",
            test_event_code=test_code,
            payload=event,
        )
        if not key[1]:
            anonymous.append(row)  # no event_id: nothing to de-duplicate by
        elif key in new_rows:
            repeats[key] = repeats.get(key, 0) + 1
        else:
            new_rows[key] = row
    if new_rows:
        stored = set(
            ServerEvent.objects.filter(pixel=pixel, event_id__in={key[1] for key in new_rows}).values_list(
                "event_name", "event_id"
            )
        )
        for key in stored & set(new_rows):
            repeats[key] = repeats.get(key, 0) + 1
            del new_rows[key]
    ServerEvent.objects.bulk_create([*new_rows.values(), *anonymous], batch_size=500)
    for (event_name, event_id), count in repeats.items():
        ServerEvent.objects.filter(pixel=pixel, event_name=event_name, event_id=event_id).update(
            duplicates=F("duplicates") + count
        )
