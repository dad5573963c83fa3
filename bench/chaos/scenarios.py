"""The fault scenarios. Each gets a fresh copy of the imported, never-synced catalog.

A scenario starts the clusters and the ticker (so a full sync begins), applies its
fault at its moment, lifts it (``run.lift()``: recovery is timed from there) and
returns; the runner then waits until everything settled and compares Meta with Shopify
(:mod:`bench.chaos.verify`). A scenario raises :class:`NotObserved` when its fault never
showed (e.g. the sync finished before the kill): such a run proves nothing and fails.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from .harness import ChaosRun, log

FAULT_SECONDS = 12.0  # how long a fault stays on before it is lifted
OBSERVE_TIMEOUT = 60.0  # waiting for a fault to show (a pause, a claim to kill)


class NotObserved(Exception):
    """The fault did not take effect: the scenario tested nothing."""


class Skipped(Exception):
    """The scenario does not apply to this run (e.g. PostgreSQL only)."""


@dataclass
class Scenario:
    number: int
    name: str
    title: str
    function: Callable[[ChaosRun], None] | None
    env: dict[str, str]
    postgres_only: bool = False


def _meta_catalog_id(run: ChaosRun) -> str:
    return run.catalog().meta_catalog_id


def _token(run: ChaosRun):
    from sandbox.models import AccessToken

    return AccessToken.objects.get(token=run.catalog().connection.access_token)


def _start(run: ChaosRun, clusters: int = 1) -> None:
    for _ in range(max(clusters, run.harness.clusters)):
        run.start_cluster()
    run.start_ticker()


def _wait_progress(run: ChaosRun, share: float) -> None:
    if not run.wait_until(lambda: run.progress() >= share, OBSERVE_TIMEOUT, f"{share:.0%} progress"):
        raise NotObserved(f"the sync did not reach {share:.0%} before the fault")


def _wait_pause(run: ChaosRun, kind: str) -> None:
    def paused() -> bool:
        return run.catalog().pause_kind == kind

    if not run.wait_until(paused, OBSERVE_TIMEOUT, f"a {kind} pause"):
        raise NotObserved(f"the catalog was never paused ({kind})")
    run.notes.append(f"paused ({kind}) as expected")


# -- 1. 5xx and slow answers ------------------------------------------------------------------


def meta_errors(run: ChaosRun) -> None:
    from sandbox import faults

    faults.configure(catalog_id=_meta_catalog_id(run), error_rate=0.3, latency_ms=150)
    _start(run)
    time.sleep(FAULT_SECONDS)
    faults.configure(catalog_id=_meta_catalog_id(run), error_rate=0.0, latency_ms=0)
    run.lift()


# -- 2. a 10-minute outage, time simulated ----------------------------------------------------

OUTAGE_SECONDS = 600


def meta_outage(run: ChaosRun) -> None:
    from catalog.models import Catalog
    from sandbox import faults

    _start(run)
    _wait_progress(run, 0.2)
    faults.configure(outage=True)
    _wait_pause(run, Catalog.PauseKind.OUTAGE)
    retries = 0
    while run.simulated_seconds < OUTAGE_SECONDS:
        # Jump to the end of the engine's back-off; it retries, fails and backs off again.
        streak = run.catalog().failure_streak
        run.fast_forward()
        run.wait_until(lambda s=streak: run.catalog().failure_streak > s, 30, "a retry during the outage")
        retries += 1
    run.notes.append(f"{retries} retries in {run.simulated_seconds:.0f} simulated seconds of outage")
    faults.configure(outage=False)
    run.lift()
    run.warp_after_lift = True  # the back-off left after the outage passes at once (counted)


# -- 3. rate limits, with usage headers ------------------------------------------------------


def rate_limits(run: ChaosRun) -> None:
    from django.utils import timezone

    from catalog.models import Catalog
    from sandbox import faults
    from sandbox.models import ProductCatalog, UsageWindow

    from ..seed import UNREACHED_QUOTA

    catalog_id = _meta_catalog_id(run)
    _start(run)
    _wait_progress(run, 0.1)
    # A quota a few calls above what was used this hour: the usage headers climb past the
    # throttle's thresholds, then Meta answers 80014 with its time to regain access.
    window = timezone.now().replace(minute=0, second=0, microsecond=0)
    sandbox_catalog = ProductCatalog.objects.get(pk=ProductCatalog.pk_from_fbid(catalog_id))
    used = (
        UsageWindow.objects.filter(
            catalog=sandbox_catalog, use_case=UsageWindow.UseCase.CATALOG_BATCH, window_start=window
        )
        .values_list("calls", flat=True)
        .first()
        or 0
    )
    faults.configure(catalog_id=catalog_id, rate_limit_per_hour=used + 3, regain_access_minutes=2)
    _wait_pause(run, Catalog.PauseKind.RATE_LIMIT)
    time.sleep(3)
    faults.configure(catalog_id=catalog_id, rate_limited=True)  # the flat "rate limited" answer too
    time.sleep(3)
    faults.configure(catalog_id=catalog_id, rate_limited=False, rate_limit_per_hour=UNREACHED_QUOTA)
    run.lift()
    run.warp_after_lift = True  # Meta's "regain access in 2 minutes" passes at once


# -- 4. token revoked mid-sync, then a new one saved ------------------------------------------


def token_revoked(run: ChaosRun) -> None:
    from catalog.connection.flows import connect_token
    from catalog.models import Catalog
    from sandbox import faults
    from sandbox.graph_accounts import issue_token

    _start(run)
    _wait_progress(run, 0.2)
    token = _token(run)
    faults.configure(token=token, revoked=True)
    _wait_pause(run, Catalog.PauseKind.AUTH)
    time.sleep(3)
    fresh = issue_token(token.system_user)
    catalog = run.catalog()
    connect_token(catalog.tenant, token=fresh.token, business_id=catalog.connection.business_id)
    run.lift()


# -- 5. permission removed, then restored ---------------------------------------------------


def permission_removed(run: ChaosRun) -> None:
    from catalog.models import Catalog

    _start(run)
    _wait_progress(run, 0.15)
    token = _token(run)
    scopes = list(token.scopes)
    # First the scope (catalog_management), then the catalog's assignment to the system user.
    token.scopes = [s for s in scopes if s != "catalog_management"]
    token.save(update_fields=["scopes"])
    _wait_pause(run, Catalog.PauseKind.PERMISSION)
    time.sleep(2)
    token.scopes = scopes
    token.save(update_fields=["scopes"])
    run.wait_until(lambda: not run.catalog().pause_kind, OBSERVE_TIMEOUT, "the resume after the scope came back")
    token.assigned_catalog_ids = ["1"]  # assigned another catalog only
    token.save(update_fields=["assigned_catalog_ids"])
    if run.progress() < 1:
        _wait_pause(run, Catalog.PauseKind.PERMISSION)
    time.sleep(2)
    token.assigned_catalog_ids = []
    token.save(update_fields=["assigned_catalog_ids"])
    run.lift()


# -- 6. a worker SIGKILLed mid-push and mid-confirm -----------------------------------------


def worker_killed(run: ChaosRun) -> None:
    from django.utils import timezone

    from catalog.models import SyncBatch
    from sandbox import faults

    # Slow answers, so the kill lands while a call is in progress.
    faults.configure(catalog_id=_meta_catalog_id(run), latency_ms=400)
    first = run.start_cluster()
    run.start_ticker()
    batches = SyncBatch.objects.filter(catalog=run.catalog())
    if not run.wait_until(
        lambda: batches.filter(state=SyncBatch.State.CLAIMED).exists(), OBSERVE_TIMEOUT, "a claimed batch", step=0.05
    ):
        raise NotObserved("no batch was ever claimed")
    first.kill()
    claimed = batches.filter(state=SyncBatch.State.CLAIMED).count()
    run.notes.append(f"killed mid-push ({claimed} batch(es) claimed)")
    second = run.start_cluster()
    due = batches.filter(state=SyncBatch.State.SENT)
    if not run.wait_until(
        lambda: due.filter(next_poll_at__lte=timezone.now()).exists(),
        OBSERVE_TIMEOUT,
        "a batch due for its status poll",
        step=0.05,
    ):
        raise NotObserved("no batch was ever sent")
    time.sleep(0.3)  # the confirm task is under way (its poll takes 400 ms)
    second.kill()
    run.notes.append(f"killed mid-confirm ({due.count()} batch(es) sent)")
    run.start_cluster()
    faults.configure(catalog_id=_meta_catalog_id(run), latency_ms=0)
    run.lift()


# -- 7. two clusters racing on one catalog ---------------------------------------------------


def two_clusters(run: ChaosRun) -> None:
    from django_q.tasks import async_task

    catalog_pk = run.catalog().pk
    _start(run, clusters=2)

    def extra_pushes() -> None:
        # Beyond the schedules: direct pushes and polls, so both clusters run them at once.
        async_task("catalog.tasks.push_catalog", catalog_pk, group="chaos-race")
        async_task("catalog.tasks.confirm_catalog", catalog_pk, group="chaos-race")

    run.ticker.extra = extra_pushes
    run.lift()  # the "fault" is the race itself, from the start


# -- 8. the database connection dropped mid-transaction ------------------------------------


def connection_dropped(run: ChaosRun) -> None:
    _start(run)
    _wait_progress(run, 0.05)
    killed = 0
    until = time.monotonic() + FAULT_SECONDS
    while time.monotonic() < until:
        killed += run.harness.terminate_worker_backends()
        time.sleep(0.05)
    run.notes.append(f"{killed} worker connection(s) terminated mid-statement or mid-transaction")
    if not killed:
        raise NotObserved("no worker connection was caught in a transaction")
    run.lift()


# -- 9. a burst of signed webhooks during a full sync -----------------------------------------

DUPLICATE_SHARE = 0.2


def webhook_count(variants: int) -> int:
    """10,000 deliveries for 2,000 variants; the same shape (5 per variant) for other sizes."""
    return max(50, 5 * variants)


def build_deliveries(run: ChaosRun, total: int) -> list[tuple[bytes, dict]]:
    """Shopify changes prices over and over; one signed delivery per version, plus duplicates."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from sandbox.shopify import payloads
    from sandbox.shopify.models import Product as ShopProduct
    from sandbox.shopify.models import Shop
    from sandbox.shopify.models import Variant as ShopVariant

    from ..scenarios.webhooks import signed_headers

    store = run.catalog().store
    shop = Shop.objects.get(domain=store.shop_domain)
    products = list(ShopProduct.objects.filter(shop=shop).order_by("pk"))
    rng = random.Random(20261204)
    unique = total - int(total * DUPLICATE_SHARE)
    deliveries: list[tuple[bytes, dict]] = []
    clock = timezone.now()
    for n in range(unique):
        product = products[n % len(products)]
        clock += timedelta(milliseconds=1)
        # A new price for every variant of the product (Shopify's truth moves on).
        for variant in ShopVariant.objects.filter(product=product):
            price = (Decimal(rng.randint(100, 20000)) / 100).quantize(Decimal("0.01"))
            ShopVariant.objects.filter(pk=variant.pk).update(price=price, compare_at_price=None, updated_at=clock)
        ShopProduct.objects.filter(pk=product.pk).update(updated_at=clock)
        product.refresh_from_db()
        body = payloads.dumps(payloads.product(product))
        deliveries.append((body, signed_headers(store, "products/update", body, clock.isoformat())))
    duplicates = [rng.choice(deliveries) for _ in range(total - unique)]  # Shopify's retries: same ids
    burst = deliveries + duplicates
    rng.shuffle(burst)
    return burst


def webhook_burst(run: ChaosRun) -> None:
    from catalog.models import WebhookEvent

    from ..scenarios.webhooks import send_burst

    total = webhook_count(run.harness.variants)
    burst = build_deliveries(run, total)
    _start(run)
    _wait_progress(run, 0.1)
    log(f"sending {len(burst):,} signed webhooks ({DUPLICATE_SHARE:.0%} duplicates, shuffled)")
    statuses, _latencies, elapsed = send_burst(f"http://127.0.0.1:{run.harness.port}/shopify/webhooks/", burst)
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    run.notes.append(f"{accepted:,} of {len(burst):,} webhooks accepted in {elapsed:.1f} s")
    if accepted != len(burst):
        run.notes.append(f"{len(burst) - accepted} deliveries refused (Shopify would retry them)")
    run.lift()
    # Settled also means every stored event was processed.
    run.extra_settled = lambda: not WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).exists()


# -- 10. a batch handle that never finishes ---------------------------------------------------


def handle_never_finishes(run: ChaosRun) -> None:
    from catalog.models import SyncBatch
    from sandbox import faults

    catalog_id = _meta_catalog_id(run)
    faults.configure(catalog_id=catalog_id, batch_delay=10**7)
    _start(run)
    timed_out = SyncBatch.objects.filter(catalog=run.catalog(), state=SyncBatch.State.TIMED_OUT)
    if not run.wait_until(timed_out.exists, OBSERVE_TIMEOUT, "a handle timed out"):
        raise NotObserved("no handle was given up")
    time.sleep(FAULT_SECONDS / 2)
    run.notes.append(f"{timed_out.count()} handle(s) given up and re-queued while Meta never finished")
    faults.configure(catalog_id=catalog_id, batch_delay=None)
    run.lift()


# -- 11. a feed upload failing half way -------------------------------------------------------


def feed_upload_fails(run: ChaosRun) -> None:
    from django_q.tasks import async_task

    from catalog.models import SyncBatch
    from sandbox.models import FeedUpload

    catalog_pk = run.catalog().pk
    feeds = SyncBatch.objects.filter(catalog_id=catalog_pk, kind=SyncBatch.Kind.REPLACE_FEED)
    # About half the file's rows (some 60% of the variants are valid and live).
    run.restart_server(SANDBOX_FEED_FAIL_AFTER_ROWS=str(max(1, run.harness.variants * 3 // 10)))
    # The whole catalog by the replace feed first (what a new catalog's first hour does):
    # queued before the ticker's pushes, which would otherwise take the shard first.
    async_task("catalog.tasks.push_feed", catalog_pk, SyncBatch.Kind.REPLACE_FEED, True, group="chaos-feed")
    run.start_cluster()
    if not run.wait_until(feeds.exists, OBSERVE_TIMEOUT, "the replace feed to be claimed"):
        raise NotObserved("the replace feed was never claimed")
    run.start_ticker()
    if not run.wait_until(
        lambda: feeds.filter(finished_at__isnull=False).exists(), OBSERVE_TIMEOUT, "the replace feed upload to end"
    ):
        raise NotObserved("the replace feed was never uploaded and confirmed")
    broken = FeedUpload.objects.filter(error_count__gt=0).order_by("pk").first()
    if broken is None:
        raise NotObserved("no upload session broke off")
    batch = feeds.order_by("pk").first()
    run.notes.append(
        f"upload broke off after {broken.num_persisted_items} of {(batch.stats or {}).get('rows')} "
        f"rows; our batch ended {batch.state}"
    )
    run.restart_server(SANDBOX_FEED_FAIL_AFTER_ROWS="0")
    run.lift()
    async_task("catalog.tasks.push_feed", catalog_pk, SyncBatch.Kind.REPLACE_FEED, True, group="chaos-feed")


# -- 12. Shopify's bulk operation failing, then its file expiring ----------------------------


def _reprice_shop(run: ChaosRun) -> int:
    """Shopify's truth moves on without a webhook: every variant gets a new price."""
    from decimal import Decimal

    from django.db.models import F
    from django.utils import timezone

    from sandbox.shopify.models import Product as ShopProduct
    from sandbox.shopify.models import Shop
    from sandbox.shopify.models import Variant as ShopVariant

    shop = Shop.objects.get(domain=run.catalog().store.shop_domain)
    now = timezone.now()
    ShopProduct.objects.filter(shop=shop).update(updated_at=now)
    return ShopVariant.objects.filter(shop=shop).update(price=F("price") + Decimal("1.00"), updated_at=now)


def bulk_import_fails(run: ChaosRun) -> None:
    from django.db.models import Max
    from django_q.tasks import async_task

    from catalog.models import ImportRun
    from sandbox.shopify.models import BulkOperation

    store_id = run.catalog().store_id
    runs = ImportRun.objects.filter(store_id=store_id, mode=ImportRun.Mode.BULK)
    ops = BulkOperation.objects.filter(shop__domain=run.catalog().store.shop_domain)
    _reprice_shop(run)
    _start(run)

    def import_once() -> ImportRun:
        last = runs.aggregate(m=Max("pk"))["m"] or 0
        async_task("catalog.tasks.shopify_import", store_id, True, group="chaos-import")
        run.wait_until(lambda: runs.filter(pk__gt=last).exists(), OBSERVE_TIMEOUT, "the import to start")
        return runs.filter(pk__gt=last).order_by("pk").first()

    def finished(import_run: ImportRun) -> ImportRun:
        run.wait_until(
            lambda: runs.filter(pk=import_run.pk, finished_at__isnull=False).exists(),
            OBSERVE_TIMEOUT,
            "the import to finish",
        )
        import_run.refresh_from_db()
        return import_run

    # 1. Shopify fails the bulk operation before it runs (the sandbox waits 3 s before starting it).
    last_op = ops.aggregate(m=Max("pk"))["m"] or 0
    first = import_once()
    if not run.wait_until(lambda: ops.filter(pk__gt=last_op).exists(), OBSERVE_TIMEOUT, "a bulk operation"):
        raise NotObserved("the import started no bulk operation")
    ops.filter(pk__gt=last_op, status=BulkOperation.Status.CREATED).update(
        status=BulkOperation.Status.FAILED, error_code=BulkOperation.ErrorCode.INTERNAL_SERVER_ERROR
    )
    first = finished(first)
    run.notes.append(f"import 1 (bulk operation failed): {first.state}: {first.error[:120]}")
    # 2. The file expires before it is downloaded.
    run.restart_server(SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS="0")
    second = finished(import_once())
    run.notes.append(f"import 2 (file expired): {second.state}: {second.error[:120]}")
    if first.state != ImportRun.State.FAILED or second.state != ImportRun.State.FAILED:
        raise NotObserved("an import did not report its failure")
    # 3. Lifted: a retry imports everything.
    run.restart_server(SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS=str(7 * 86400))
    run.lift()
    third = import_once()
    run.extra_settled = lambda: runs.filter(pk=third.pk, state=ImportRun.State.SUCCEEDED).exists()

    def report() -> None:
        third.refresh_from_db()
        run.notes.append(
            f"import 3: {third.state}, {third.variants_seen} variants seen, {third.variants_changed} changed"
        )

    run.after_settle = report


# -- the registry -----------------------------------------------------------------------------

SCENARIOS = [
    Scenario(1, "meta_errors", "Meta answers 5xx on 30% of calls, slowly", meta_errors, {}),
    Scenario(
        2, "meta_outage", "a 10-minute Meta outage (time simulated)", meta_outage, {"SYNC_OUTAGE_BACKOFF_MAX": "1800"}
    ),
    Scenario(3, "rate_limits", "rate limits with usage headers", rate_limits, {}),
    Scenario(4, "token_revoked", "token revoked mid-sync, a new one saved", token_revoked, {}),
    Scenario(
        5,
        "permission_removed",
        "catalog_management, then the catalog assignment, removed and restored",
        permission_removed,
        {},
    ),
    Scenario(
        6, "worker_killed", "a cluster SIGKILLed mid-push and mid-confirm", worker_killed, {"SYNC_CLAIM_TIMEOUT": "10"}
    ),
    Scenario(7, "two_clusters", "two clusters racing on one catalog", two_clusters, {}),
    # The default SYNC_CLAIM_TIMEOUT (15 min, beyond the deadline): a push whose connection drops
    # after its claim committed releases the claim itself, on a fresh connection.
    Scenario(
        8,
        "connection_dropped",
        "database connections dropped mid-transaction",
        connection_dropped,
        {},
        postgres_only=True,
    ),
    Scenario(9, "webhook_burst", "signed webhooks, 20% duplicates, shuffled, during a full sync", webhook_burst, {}),
    Scenario(
        10,
        "handle_never_finishes",
        "a batch handle Meta never finishes",
        handle_never_finishes,
        {"SYNC_HANDLE_TIMEOUT": "6"},
    ),
    Scenario(11, "feed_upload_fails", "a replace feed upload breaking off half way", feed_upload_fails, {}),
    Scenario(
        12,
        "bulk_import_fails",
        "Shopify's bulk operation failing, its file expiring",
        bulk_import_fails,
        {"SANDBOX_SHOPIFY_BULK_DELAY_SECONDS": "3"},
    ),
]
BY_NAME = {s.name: s for s in SCENARIOS}


def resolve(names: str | None) -> list[Scenario]:
    """Scenarios by name or number (``1,token_revoked``); all when ``names`` is empty."""
    if not names:
        return list(SCENARIOS)
    chosen = []
    for raw in names.split(","):
        key = raw.strip()
        found = BY_NAME.get(key) or next((s for s in SCENARIOS if str(s.number) == key), None)
        if found is None:
            raise SystemExit(f"chaos: unknown scenario {key!r} (known: {', '.join(BY_NAME)})")
        chosen.append(found)
    return chosen
