"""The admin index's overview: each visible tenant's variants by Meta status."""

from collections import defaultdict

from django.db.models import Count

from catalog.models import Variant

from .base import status_count_badges, visible_tenants

# The index lists at most this many tenants; the Tenants page has them all.
OVERVIEW_TENANTS = 25


def tenant_overview(request) -> list[dict]:
    """Rows of ``{"tenant", "badges", "total"}`` for the tenants the user may see (two queries)."""
    tenants = list(visible_tenants(request).order_by("slug")[:OVERVIEW_TENANTS])
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Variant.objects.filter(tenant__in=[t.pk for t in tenants])
        .order_by()
        .values_list("tenant_id", "meta_status")
        .annotate(n=Count("*"))
    )
    for tenant_id, status, n in rows:
        counts[tenant_id][status] = n
    return [
        {
            "tenant": tenant,
            "total": sum(counts[tenant.pk].values()),
            "badges": status_count_badges(counts[tenant.pk], f"tenant__id__exact={tenant.pk}"),
        }
        for tenant in tenants
    ]
