"""Pixels and the Conversions API."""

from __future__ import annotations

from ... import faults
from ..conversions import receive_events
from ..router import Call, route
from ..serializers import pixel_node


@route("pixel", "", "GET", scope=None)
def pixel(call: Call) -> dict:
    return pixel_node(call.node, call.selection)


@route("pixel", "events", "POST", scope=None)
def events(call: Call) -> dict:
    active = faults.active_faults(None, call.caller.token)
    return receive_events(call.node, call.params, call.now, call.trace, active)
