"""The admin index's overview: each visible tenant's variants by Meta status.

Variants of a store that has no Meta catalog are counted apart ("no catalog"), not as
PENDING: nothing is waiting to send them.
"""

from collections import defaultdict

from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from catalog.models import Variant

from .base import status_count_badges, visible_tenants

# The index lists at most this many tenants; the Tenants page has them all.
OVERVIEW_TENANTS = 25


def tenant_overview(request) -> list[dict]:
    """Rows of ``{"tenant", "badges", "total", "no_catalog"}`` for the tenants the user may see (three queries).

    The variants without a catalog are a second grouped count (the ``catalog`` index
    answers ``catalog_id IS NULL``) taken off their status, so the first stays index-only.
    """
    tenants = list(visible_tenants(request).order_by("slug")[:OVERVIEW_TENANTS])
    ids = [t.pk for t in tenants]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for tenant_id, status, n in (
        Variant.objects.filter(tenant__in=ids).order_by().values_list("tenant_id", "meta_status").annotate(n=Count("*"))
    ):
        counts[tenant_id][status] += n
    no_catalog: dict[int, int] = defaultdict(int)
    for tenant_id, status, n in (
        Variant.objects.filter(tenant__in=ids, catalog__isnull=True)
        .order_by()
        .values_list("tenant_id", "meta_status")
        .annotate(n=Count("*"))
    ):
        counts[tenant_id][status] -= n
        no_catalog[tenant_id] += n
    changelist = reverse("admin:catalog_variant_changelist")
    rows = []
    for tenant in tenants:
        badges = status_count_badges(counts[tenant.pk], f"tenant__id__exact={tenant.pk}&catalog__isnull=False")
        if no_catalog[tenant.pk]:
            badges = format_html(
                '{} <a href="{}?tenant__id__exact={}&catalog__isnull=True" title="{}">'
                '<span class="meta-badge meta-badge-nocatalog">NO CATALOG {}</span></a>',
                badges,
                changelist,
                tenant.pk,
                "Their store has no Meta catalog: not sent, not waiting either.",
                no_catalog[tenant.pk],
            )
        rows.append(
            {
                "tenant": tenant,
                "total": sum(counts[tenant.pk].values()) + no_catalog[tenant.pk],
                "no_catalog": no_catalog[tenant.pk],
                "badges": badges,
            }
        )
    return rows
