"""The benchmark scenarios, by name. Each module defines SEED_KIND, TARGETS, prepare(ctx),
run(ctx) and baseline(ctx) (both return a dict with at least ``items``), sql_per_5000(run)
and speedup(run, base)."""

from . import freshness, full_sync, health, import_, incremental, replace_feed, webhooks

SCENARIOS = {
    "freshness": freshness,
    "import": import_,
    "full_sync": full_sync,
    "incremental": incremental,
    "replace_feed": replace_feed,
    "health": health,
    "webhooks": webhooks,
}
