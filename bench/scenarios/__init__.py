"""The benchmark scenarios, by name. Each module defines SEED_KIND, TARGETS, prepare(ctx),
run(ctx) and baseline(ctx) (both return a dict with at least ``items``), sql_per_5000(run)
and speedup(run, base)."""

from . import (
    conversions,
    drift,
    freshness,
    full_sync,
    health,
    import_,
    incremental,
    product_sets,
    replace_feed,
    verdicts,
    webhooks,
)

SCENARIOS = {
    "freshness": freshness,
    "import": import_,
    "full_sync": full_sync,
    "incremental": incremental,
    "replace_feed": replace_feed,
    "health": health,
    "webhooks": webhooks,
    "verdicts": verdicts,
    "drift": drift,
    "product_sets": product_sets,
    "conversions": conversions,
}
