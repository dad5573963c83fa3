"""``webhooks``: a burst of signed Shopify webhooks against the running app, over loopback.

Sent concurrently to ``POST /shopify/webhooks/`` on the gunicorn server; measured: accepted
per second, and lost (accepted but not stored: must be 0, checked in the database).
"""

from __future__ import annotations

from ..report import Target

SEED_KIND = "catalog"
SCALES_WITH_CATALOG = False
TARGETS = [Target("accepted_per_second", ">=", 300), Target("lost", "<=", 0)]


def prepare(ctx) -> dict:
    raise RuntimeError("the webhooks scenario needs catalog.shopify (the Shopify importer), not on this branch yet")


def run(ctx) -> dict:
    raise NotImplementedError


def baseline(ctx) -> dict:
    raise NotImplementedError


def sql_per_5000(run: dict) -> None:
    return None


def speedup(run: dict, base: dict) -> float | None:
    return None
