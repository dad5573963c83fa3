"""The "Dead letters" admin page: who sees which failures, what retry queues, and no secrets."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ

from catalog.models import Membership, SyncBatch, Variant, WebhookEvent
from catalog.models.products import shard_key_for
from catalog.tests.factories import (
    CANARY_TAILS,
    CatalogFactory,
    MembershipFactory,
    ProductFactory,
    ShopifyStoreFactory,
    SyncBatchFactory,
    TenantFactory,
    UserFactory,
    VariantFactory,
    WebhookEventFactory,
)
from conversions.tests.factories import ConversionEventFactory

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:catalog_syncbatch_deadletters")


def queued() -> list[tuple[str, tuple, dict]]:
    """What Django-Q2's ORM broker holds: (func, args, kwargs) per task."""
    return [(q.task["func"], tuple(q.task["args"]), q.task["kwargs"]) for q in OrmQ.objects.order_by("pk")]


def failure(
    func: str = "catalog.tasks.push_catalog",
    args: tuple = (7,),
    kwargs: dict | None = None,
    result: str = "ValueError: boom : Traceback ...",
    group: str | None = "push:7",
) -> Failure:
    now = timezone.now()
    return Failure.objects.create(
        id=uuid.uuid4().hex,
        name=f"task-{uuid.uuid4().hex[:6]}",
        func=func,
        args=args,
        kwargs=kwargs or {},
        result=result,
        group=group,
        started=now - timedelta(seconds=3),
        stopped=now,
        success=False,
        attempt_count=1,
    )


def failed_batch(
    catalog,
    *,
    state=SyncBatch.State.FAILED,
    shard=0,
    finished_ago=timedelta(hours=1),
    pending: int = 1,
    message: str = "Meta refused the call",
) -> SyncBatch:
    """A batch that ended ``state``, its shard still holding ``pending`` PENDING variants."""
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    for _ in range(pending):
        VariantFactory(product=product, catalog=catalog, meta_status=Variant.SyncStatus.PENDING)
    return SyncBatchFactory(
        catalog=catalog,
        state=state,
        shard=shard,
        item_count=pending,
        error_message=message,
        finished_at=timezone.now() - finished_ago,
    )


def variant_in_shard(catalog, shard: int, **kwargs) -> Variant:
    """A variant of ``catalog`` whose retailer id falls in ``shard`` (the key comes from the id on save)."""
    retailer_id = next(
        rid
        for rid in (f"rid-{n}" for n in range(1000))
        if shard_key_for(rid) % catalog.shard_count == shard and not Variant.objects.filter(retailer_id=rid).exists()
    )
    product = ProductFactory(tenant=catalog.tenant, store=catalog.store)
    return VariantFactory(product=product, catalog=catalog, retailer_id=retailer_id, **kwargs)


def poison(store, **kwargs) -> WebhookEvent:
    return WebhookEventFactory(
        store=store,
        state=WebhookEvent.State.FAILED,
        attempts=5,
        error=kwargs.pop("error", "KeyError: 'variants'"),
        **kwargs,
    )


def section(response, kind: str) -> dict | None:
    return next((s for s in response.context["sections"] if s["kind"] == kind), None)


def listed(response, kind: str) -> list:
    return [row["id"] for row in section(response, kind)["rows"]]


# -- what each user sees -------------------------------------------------------------------------


def test_superuser_sees_every_section_with_its_count(admin_client, store, catalog, other_tenant):
    task = failure()
    mine, theirs = poison(store), poison(ShopifyStoreFactory(tenant=other_tenant))
    batch = failed_batch(catalog)
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert [(s["kind"], s["count"]) for s in response.context["sections"]] == [
        ("task", 1),
        ("webhook", 2),
        ("batch", 1),
        ("capi", 0),
    ]
    assert listed(response, "task") == [task.pk]
    assert set(listed(response, "webhook")) == {mine.pk, theirs.pk}
    assert listed(response, "batch") == [batch.pk]
    assert response.context["total"] == 4
    html = response.content.decode()
    assert "catalog.tasks.push_catalog" in html and "ValueError: boom" in html
    # Dead Conversions API events have their own section (conversions/tests/test_admin.py).
    assert "Dead Conversions API events" in html


def test_member_sees_only_their_tenants_rows_and_no_task_queue(staff_client, store, catalog, other_tenant):
    failure(func="catalog.tasks.secret_looking_func")
    mine = poison(store)
    theirs = poison(ShopifyStoreFactory(tenant=other_tenant, shop_domain="hidden-b.myshopify.com"))
    my_batch = failed_batch(catalog)
    their_batch = failed_batch(CatalogFactory(tenant=other_tenant, name="Hidden catalog B"))
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    assert section(response, "task") is None
    assert listed(response, "webhook") == [mine.pk]
    assert listed(response, "batch") == [my_batch.pk]
    html = response.content.decode()
    for hidden in ("secret_looking_func", "hidden-b.myshopify.com", "Hidden catalog B", str(other_tenant)):
        assert hidden not in html
    assert theirs.pk not in listed(response, "webhook") and their_batch.pk not in listed(response, "batch")


def test_viewer_sees_rows_without_retry_buttons(viewer_client, store, catalog):
    poison(store)
    failed_batch(catalog)
    response = viewer_client.get(PAGE)
    assert response.status_code == 200
    assert [s["count"] for s in response.context["sections"]] == [1, 1, 0]
    assert all(not row["may_retry"] for s in response.context["sections"] for row in s["rows"])
    assert 'name="kind"' not in response.content.decode()


def test_user_with_no_membership_is_refused(client, store):
    poison(store)
    client.force_login(UserFactory(username="nobody", is_staff=True))
    assert client.get(PAGE).status_code == 403


def test_only_failed_webhooks_are_listed(admin_client, store):
    poison(store)
    for state in ("received", "processing", "processed", "ignored"):
        WebhookEventFactory(store=store, state=state)
    assert section(admin_client.get(PAGE), "webhook")["count"] == 1


class TestFailedBatches:
    def test_failed_and_timed_out_batches_with_waiting_variants_are_listed(self, admin_client, catalog):
        failed = failed_batch(catalog)
        timed_out = failed_batch(catalog, state=SyncBatch.State.TIMED_OUT, finished_ago=timedelta(hours=2))
        assert listed(admin_client.get(PAGE), "batch") == [timed_out.pk, failed.pk][::-1]

    def test_a_batch_older_than_seven_days_is_not_listed(self, admin_client, catalog):
        failed_batch(catalog, finished_ago=timedelta(days=8))
        assert section(admin_client.get(PAGE), "batch")["count"] == 0

    def test_a_later_finished_batch_of_the_shard_settles_it(self, admin_client, catalog):
        failed_batch(catalog)
        SyncBatchFactory(catalog=catalog, state=SyncBatch.State.FINISHED, finished_at=timezone.now())
        assert section(admin_client.get(PAGE), "batch")["count"] == 0

    def test_a_finished_batch_of_another_shard_does_not(self, admin_client, catalog):
        catalog.shard_count = 2
        catalog.save()
        variant_in_shard(catalog, 0)
        batch = SyncBatchFactory(catalog=catalog, state=SyncBatch.State.FAILED, shard=0, finished_at=timezone.now())
        SyncBatchFactory(catalog=catalog, state=SyncBatch.State.FINISHED, shard=1, finished_at=timezone.now())
        assert listed(admin_client.get(PAGE), "batch") == [batch.pk]

    def test_nothing_waiting_in_its_shard_settles_it(self, admin_client, catalog):
        catalog.shard_count = 2
        catalog.save()
        variant_in_shard(catalog, 1)
        variant_in_shard(catalog, 0, meta_status=Variant.SyncStatus.SYNCED)
        SyncBatchFactory(catalog=catalog, state=SyncBatch.State.FAILED, shard=0, finished_at=timezone.now())
        assert section(admin_client.get(PAGE), "batch")["count"] == 0

    def test_finished_batches_are_not_dead_letters(self, admin_client, catalog):
        failed_batch(catalog, state=SyncBatch.State.FINISHED)
        assert section(admin_client.get(PAGE), "batch")["count"] == 0


# -- retry ---------------------------------------------------------------------------------------


def test_retrying_a_task_queues_the_same_call_and_removes_the_failure(admin_client, django_capture_on_commit_callbacks):
    task = failure(func="catalog.tasks.push_feed", args=(7, "replace_feed"), kwargs={"force": True})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(PAGE, {"kind": "task", "id": task.pk})
    assert response.status_code == 302
    assert queued() == [("catalog.tasks.push_feed", (7, "replace_feed"), {"force": True})]
    assert OrmQ.objects.get().task["group"] == "push:7"
    assert not Failure.objects.filter(pk=task.pk).exists()


def test_retrying_a_task_twice_queues_it_once(admin_client, django_capture_on_commit_callbacks):
    task = failure()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(PAGE, {"kind": "task", "id": task.pk})
        response = admin_client.post(PAGE, {"kind": "task", "id": task.pk}, follow=True)
    assert len(queued()) == 1
    assert "already retried" in response.content.decode()


@pytest.mark.parametrize("client_name", ["staff_client", "owner_client", "viewer_client"])
def test_members_cannot_retry_a_task(request, client_name, django_capture_on_commit_callbacks):
    task = failure()
    client = request.getfixturevalue(client_name)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(PAGE, {"kind": "task", "id": task.pk})
    assert response.status_code == 403
    assert not callbacks and not queued()
    assert Failure.objects.filter(pk=task.pk).exists()


def test_staff_retry_a_poison_webhook_into_its_stores_drain(staff_client, store, django_capture_on_commit_callbacks):
    event = poison(store)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(PAGE, {"kind": "webhook", "id": event.pk})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.state, event.attempts, event.error) == (WebhookEvent.State.RECEIVED, 0, "")
    assert queued() == [("catalog.tasks.drain_shopify_webhooks", (store.pk,), {})]


def test_viewer_cannot_retry_a_webhook(viewer_client, store, django_capture_on_commit_callbacks):
    event = poison(store)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = viewer_client.post(PAGE, {"kind": "webhook", "id": event.pk})
    assert response.status_code == 403
    assert not callbacks and not queued()
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED


def test_another_tenants_webhook_is_404_and_untouched(
    staff_client, store, other_tenant, django_capture_on_commit_callbacks
):
    mine, theirs = poison(store), poison(ShopifyStoreFactory(tenant=other_tenant))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(PAGE, {"kind": "webhook", "id": [mine.pk, theirs.pk]})
    assert response.status_code == 404
    assert not callbacks and not queued()
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.FAILED}


def test_one_row_where_the_role_is_viewer_refuses_all(
    tenant, store, other_tenant, django_capture_on_commit_callbacks, client
):
    """Staff of A and viewer of B, retrying one event of each: 403, neither is queued."""
    user = UserFactory(username="staff-a-viewer-b")
    MembershipFactory(user=user, tenant=tenant, role=Membership.Role.STAFF)
    MembershipFactory(user=user, tenant=other_tenant, role=Membership.Role.VIEWER)
    client.force_login(user)
    mine, theirs = poison(store), poison(ShopifyStoreFactory(tenant=other_tenant))
    page = client.get(PAGE)
    assert {row["id"]: row["may_retry"] for row in section(page, "webhook")["rows"]} == {
        mine.pk: True,
        theirs.pk: False,
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(PAGE, {"kind": "webhook", "id": [mine.pk, theirs.pk]})
    assert response.status_code == 403
    assert not callbacks and not queued()


def test_staff_retry_a_failed_batch_as_a_push_of_its_catalog(staff_client, catalog, django_capture_on_commit_callbacks):
    first, second = failed_batch(catalog), failed_batch(catalog, state=SyncBatch.State.TIMED_OUT)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(PAGE, {"kind": "batch", "id": [first.pk, second.pk]})
    assert response.status_code == 302
    assert queued() == [("catalog.tasks.push_catalog", (catalog.pk,), {})]  # one push per catalog
    assert OrmQ.objects.get().task["group"] == f"push:{catalog.pk}"


@pytest.mark.parametrize("who", ["viewer", "other tenant's staff"])
def test_batch_retry_is_refused(
    who, viewer_client, staff_client, catalog, other_tenant, django_capture_on_commit_callbacks
):
    if who == "viewer":
        client, batch, code = viewer_client, failed_batch(catalog), 403
    else:
        client, batch, code = staff_client, failed_batch(CatalogFactory(tenant=other_tenant)), 404
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(PAGE, {"kind": "batch", "id": batch.pk})
    assert response.status_code == code
    assert not callbacks and not queued()


def test_retry_without_rows_changes_nothing(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(PAGE, {"kind": "webhook"}, follow=True)
    assert response.status_code == 200
    assert "Nothing to retry" in response.content.decode()
    assert not callbacks


def test_retry_is_post_only(admin_client, store, django_capture_on_commit_callbacks):
    event = poison(store)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        admin_client.get(PAGE, {"kind": "webhook", "id": event.pk})
    assert not callbacks
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED


def test_retry_needs_the_csrf_token(store):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="root", is_superuser=True))
    event = poison(store)
    assert client.post(PAGE, {"kind": "webhook", "id": event.pk}).status_code == 403
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED


# -- secrets -------------------------------------------------------------------------------------

# Token-shaped values as they appear in real errors (no canary "~"), which redact() must remove.
BARE_SHOPIFY_TOKEN = "shpat_" + "0123456789abcdef" * 2
BARE_META_TOKEN = "EAAB" + "x7" * 20


@pytest.mark.parametrize("client_name", ["admin_client", "staff_client", "viewer_client"])
def test_no_secret_reaches_the_page(request, client_name, tenant, store, catalog):
    """Stored secrets (canary factories) in errors and task arguments never show, not even their tails."""
    connection = catalog.connection
    shop_token, webhook_secret, meta_token = store.access_token, store.webhook_secret, connection.access_token
    assert all(s.endswith(t) for s, t in zip((shop_token, webhook_secret, meta_token), CANARY_TAILS, strict=True))
    failure(
        args=(catalog.pk, shop_token),
        kwargs={"token": meta_token, "note": {"secret": webhook_secret}},
        result=f"GraphAPIError: GET /me?access_token={meta_token} failed; {BARE_META_TOKEN} : Traceback ...",
    )
    poison(
        store,
        error=f'Shopify error: {{"webhook_secret": "{webhook_secret}"}} Authorization: Bearer {shop_token}'
        f" {BARE_SHOPIFY_TOKEN}",
    )
    failed_batch(catalog, message=f"POST items_batch?access_token={meta_token} -> 500 ({BARE_META_TOKEN})")
    response = request.getfixturevalue(client_name).get(PAGE)
    assert response.status_code == 200
    assert sum(s["count"] for s in response.context["sections"]) == (3 if client_name == "admin_client" else 2)
    html = response.content.decode()
    for secret in (shop_token, webhook_secret, meta_token, BARE_SHOPIFY_TOKEN, BARE_META_TOKEN, *CANARY_TAILS):
        assert secret not in html
    if client_name == "admin_client":
        assert f"({catalog.pk}, &lt;str, {len(shop_token)} characters&gt;, note=&lt;dict, 1 items&gt;" in html


def test_argument_summaries_keep_ids_and_short_names_only():
    from catalog.dead_letters import summarise_arguments

    assert summarise_arguments((12, "replace_feed", None), {"force": True}) == "(12, 'replace_feed', None, force=True)"
    assert summarise_arguments(("token=abc",), {}) == "(<str, 9 characters>)"
    assert summarise_arguments(("a1b2c3d4e5f6a7b8",), {}) == "(<str, 16 characters>)"  # a key-like value
    assert summarise_arguments(([1, 2], b"xy"), {"x": object()}) == "(<list, 2 items>, <bytes, 2 items>, x=<object>)"


# -- the index -----------------------------------------------------------------------------------


def test_index_links_the_page_in_the_sync_section_with_a_count(admin_client, store, catalog):
    failure()
    poison(store)
    failed_batch(catalog)
    response = admin_client.get(reverse("admin:index"))
    sync = next(app for app in response.context["app_list"] if app["name"] == "Sync")
    entry = next(m for m in sync["models"] if m["name"] == "Dead letters")
    assert entry["admin_url"] == PAGE and entry["badge"] == 3
    assert [m["name"] for m in sync["models"]][:2] == ["Sync batches", "Dead letters"]
    assert f'<a href="{PAGE}">Dead letters <span class="meta-badge meta-badge-failed"' in response.content.decode()


def test_index_badge_counts_only_what_the_member_may_see(staff_client, store, other_tenant):
    failure()
    poison(store)
    poison(ShopifyStoreFactory(tenant=other_tenant))
    response = staff_client.get(reverse("admin:index"))
    sync = next(app for app in response.context["app_list"] if app["name"] == "Sync")
    assert next(m for m in sync["models"] if m["name"] == "Dead letters")["badge"] == 1


def test_sidebar_links_the_page_without_counting(staff_client, store):
    """Every admin page draws the sidebar: it links the page but runs no count."""
    poison(store)
    response = staff_client.get(reverse("admin:catalog_syncbatch_changelist"))
    sync = next(app for app in response.context["available_apps"] if app["name"] == "Sync")
    entry = next(m for m in sync["models"] if m["name"] == "Dead letters")
    assert "badge" not in entry
    assert f'href="{PAGE}"' in response.content.decode()


def test_no_link_for_a_user_without_tenants(client):
    client.force_login(UserFactory(username="nobody", is_staff=True))
    response = client.get(reverse("admin:index"))
    assert PAGE not in response.content.decode()


# -- query counts --------------------------------------------------------------------------------

# Pinned (session, user, four counts, four lists; a member adds their memberships): a new query on
# this page must be a deliberate choice.
SUPERUSER_PAGE_QUERIES = 10


@pytest.mark.parametrize("rows", [1, 6])
def test_page_query_count_is_flat(admin_client, catalog, rows, django_assert_num_queries):
    for n in range(rows):
        tenant = TenantFactory()
        failure(args=(n,))
        poison(ShopifyStoreFactory(tenant=tenant))
        ConversionEventFactory(
            catalog=failed_batch(CatalogFactory(tenant=tenant)).catalog, state="dead", last_error="x"
        )
    with django_assert_num_queries(SUPERUSER_PAGE_QUERIES):
        response = admin_client.get(PAGE)
    assert [s["count"] for s in response.context["sections"]] == [rows, rows, rows, rows]
