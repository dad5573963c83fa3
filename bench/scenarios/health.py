"""``health``: the merchant health page and the admin variant changelist, p50 / p95 over 50 requests.

Prepared like a catalog some time after its first sync: most variants SYNCED, some
PENDING, the locally invalid ones FAILED plus a share rejected by Meta, their item
issues written by the diagnostics app's own code, and a health snapshot. Pages are
fetched over HTTP from the gunicorn server by a logged-in superuser.
The naive baseline is the page a plugin would render: one ORM read per variant to count
statuses and errors (measured on a subset, extrapolated to the whole catalog).
"""

from __future__ import annotations

import time

import requests

from ..report import Target
from .common import bench_catalog, latency_figures

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False
REQUESTS_PER_PAGE = 50
WARMUP = 2
PAGES = {"health": "/health/", "admin_variants": "/admin/catalog/variant/"}
TARGETS = [
    Target("health_p95_ms", "<=", 50),
    Target("admin_variants_p95_ms", "<=", 50, note="same bound as the health page"),
]
USERNAME = "bench-admin"


def prepare(ctx) -> dict:
    from django.contrib.auth import get_user_model
    from django.db.models import F, Value
    from django.db.models.functions import Mod
    from django.test import Client

    from catalog.models import Variant
    from catalog.sync.results import META_REJECTED
    from diagnostics.failures import sync_failure_issues
    from diagnostics.snapshots import take_all_snapshots

    catalog = bench_catalog()
    pending = Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.PENDING)
    # 2% rejected by Meta, 5% still pending, the rest synced.
    pending.alias(m=Mod("pk", 50)).filter(m=1).update(
        meta_status=Variant.SyncStatus.FAILED,
        last_error_code=META_REJECTED,
        last_error=Value("A required field is missing: Products need to have availability listed."),
    )
    pending.alias(m=Mod("pk", 20)).exclude(m=0).update(
        meta_status=Variant.SyncStatus.SYNCED, synced_hash=F("payload_hash")
    )
    sync_failure_issues(catalog)
    take_all_snapshots()
    user = get_user_model().objects.filter(username=USERNAME).first() or get_user_model().objects.create_superuser(
        USERNAME, "bench@example.com", "bench-password-not-secret"
    )
    client = Client()
    client.force_login(user)
    return {"session": client.cookies["sessionid"].value}


def run(ctx) -> dict:
    session = requests.Session()
    session.cookies.set("sessionid", ctx.extra["session"])
    figures: dict = {}
    total = 0
    for name, path in PAGES.items():
        samples = []
        for n in range(WARMUP + (ctx.samples or REQUESTS_PER_PAGE)):
            started = time.perf_counter()
            response = session.get(ctx.site_url + path, timeout=120, allow_redirects=False)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            if n >= WARMUP:
                samples.append(elapsed)
        for key, value in latency_figures(samples).items():
            figures[f"{name}_{key}"] = value
        total += len(samples)
    return {"items": total, **figures}


def baseline(ctx) -> dict:
    """A plugin's page: one ORM read per variant to count statuses and errors; time per page at N."""
    from collections import Counter

    from catalog.models import Variant

    catalog = bench_catalog()
    ids = list(
        Variant.objects.filter(catalog=catalog).order_by("pk").values_list("pk", flat=True)[: ctx.baseline_items]
    )
    started = time.perf_counter()
    statuses: Counter = Counter()
    errors: Counter = Counter()
    for pk in ids:
        variant = Variant.objects.get(pk=pk)
        statuses[variant.meta_status] += 1
        if variant.last_error_code:
            errors[variant.last_error_code] += 1
    elapsed = time.perf_counter() - started
    page_ms = elapsed / len(ids) * ctx.variants * 1000
    return {
        "items": len(ids),
        "page_ms_extrapolated": round(page_ms, 1),
        "page_note": f"one page render extrapolated from {len(ids):,} to {ctx.variants:,} variants",
    }


def baseline_total(ctx, run: dict) -> int:
    """The naive page reads every variant once per render."""
    return ctx.variants


def speedup(run: dict, base: dict) -> float | None:
    """How much faster our health page answers than the naive page would (p95 vs extrapolated)."""
    if not run.get("health_p95_ms"):
        return None
    return round(base["page_ms_extrapolated"] / run["health_p95_ms"], 1)


def sql_per_5000(run: dict) -> None:
    return None  # the page's queries run in the server process
