"""Template helpers for the health pages and the admin item panel."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import formats, timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext

from catalog.models import Product

from ..item_view import product_health

register = template.Library()


@register.filter
def num(value: object) -> str:
    """1234567 -> 1,234,567 (grouped the active language's way: 1 234 567 in French)."""
    try:
        return formats.number_format(int(value), force_grouping=True)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "0"


@register.filter
def ago(value: datetime | None) -> str:
    """'5 minutes ago' / 'just now' / 'in 10 minutes' / 'never'."""
    if not value:
        return gettext("never")
    now = timezone.now()
    if abs((value - now).total_seconds()) < 60:
        return gettext("just now")
    if value > now:
        return gettext("in %(time)s") % {"time": timeuntil(value, now).split(",")[0]}
    return gettext("%(time)s ago") % {"time": timesince(value, now).split(",")[0]}


@register.filter
def due(value: datetime | None) -> str:
    """For a next run: 'in 5 minutes', or 'due now' once the time has come."""
    if not value:
        return gettext("not scheduled")
    now = timezone.now()
    if value <= now + timedelta(seconds=30):
        return gettext("due now")
    if value <= now + timedelta(seconds=90):
        return gettext("in about a minute")
    return gettext("in %(time)s") % {"time": timeuntil(value, now).split(",")[0]}


@register.filter
def get(mapping: dict, key: str) -> object:
    return (mapping or {}).get(key, 0)


@register.inclusion_tag("diagnostics/_item_panel.html", takes_context=True)
def item_health_panel(context: dict, product: object) -> dict:
    """The item view for one product, as a panel (used on the admin's product change page)."""
    if not isinstance(product, Product) or product.pk is None:
        return {"health": None}
    return {"health": product_health(product, in_admin=True), "request": context.get("request"), "in_admin": True}
