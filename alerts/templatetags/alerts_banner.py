"""``{% alerts_banner tenant %}`` (health page) and ``{% admin_alerts user %}`` (admin index): open alerts."""

from __future__ import annotations

from django import template

from ..models import Alert

register = template.Library()
# Alerts listed at most on one page (the rest: Alerts → Alerts in the admin).
SHOWN = 20


@register.inclusion_tag("alerts/banner.html")
def alerts_banner(tenant) -> dict:
    """The tenant's open alerts (one query); the caller has checked the user may view the tenant."""
    alerts = list(
        Alert.objects.for_tenant(tenant).filter(resolved_at__isnull=True).order_by("-opened_at", "-pk")[:SHOWN]
    )
    return {"alerts": alerts, "show_tenant": False}


@register.inclusion_tag("alerts/banner.html")
def admin_alerts(user) -> dict:
    """Open alerts of every tenant the user belongs to (all tenants for a superuser), one query."""
    alerts = list(
        Alert.objects.for_user(user)
        .filter(resolved_at__isnull=True)
        .select_related("tenant")
        .order_by("-opened_at", "-pk")[:SHOWN]
    )
    return {"alerts": alerts, "show_tenant": True}
