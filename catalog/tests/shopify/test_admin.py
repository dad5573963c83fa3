"""Admin pages of Shopify ingestion: tenant scoping, progress, raw bodies, actions, connect form."""

import pytest
from django.urls import reverse

from catalog.models import ImportRun, ShopifyStore, WebhookEvent
from catalog.tests.factories import ImportRunFactory, ShopifyStoreFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


def test_staff_see_their_import_runs_with_progress(staff_client, store):
    run = ImportRunFactory(store=store, state=ImportRun.State.RUNNING, products_total=40, products_seen=10)
    page = staff_client.get(reverse("admin:catalog_importrun_change", args=[run.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert '<progress max="100" value="25">' in content
    # A running import's progress is polled from its JSON (catalog.admin.progress), not a page reload.
    assert f'data-progress-url="{reverse("admin:catalog_importrun_progress", args=[run.pk])}"' in content


def test_finished_import_page_does_not_poll(staff_client, store):
    run = ImportRunFactory(store=store)
    page = staff_client.get(reverse("admin:catalog_importrun_change", args=[run.pk]))
    assert "data-progress-url" not in page.content.decode()


def test_another_tenants_import_run_is_404(staff_client, other_tenant):
    run = ImportRunFactory(store=ShopifyStoreFactory(tenant=other_tenant))
    assert staff_client.get(reverse("admin:catalog_importrun_change", args=[run.pk])).status_code == 404


def test_import_runs_list_only_the_tenants_own(staff_client, store, other_tenant):
    mine = ImportRunFactory(store=store)
    ImportRunFactory(store=ShopifyStoreFactory(tenant=other_tenant))
    page = staff_client.get(reverse("admin:catalog_importrun_changelist"))
    assert [r.pk for r in page.context["cl"].result_list] == [mine.pk]


def test_webhook_event_page_shows_the_decoded_body_and_headers(staff_client, store):
    event = WebhookEventFactory(store=store)
    page = staff_client.get(reverse("admin:catalog_webhookevent_change", args=[event.pk]))
    content = page.content.decode()
    assert "A &lt;b&gt;bold&lt;/b&gt; candle" in content  # decoded JSON, HTML-escaped on the page
    assert "X-Shopify-Topic" in content


def test_another_tenants_webhook_event_is_404(staff_client, other_tenant):
    event = WebhookEventFactory(store=ShopifyStoreFactory(tenant=other_tenant))
    assert staff_client.get(reverse("admin:catalog_webhookevent_change", args=[event.pk])).status_code == 404


@pytest.mark.parametrize("rows", [2, 12])
def test_webhook_event_list_query_count_is_flat(staff_client, store, rows, django_assert_max_num_queries):
    WebhookEventFactory.create_batch(rows, store=store)
    with django_assert_max_num_queries(14):
        assert staff_client.get(reverse("admin:catalog_webhookevent_changelist")).status_code == 200


def test_reprocess_action_requeues_failed_events(staff_client, store, django_capture_on_commit_callbacks):
    event = WebhookEventFactory(store=store, state=WebhookEvent.State.FAILED, error="boom")
    with django_capture_on_commit_callbacks() as callbacks:
        staff_client.post(
            reverse("admin:catalog_webhookevent_changelist"),
            {"action": "reprocess_events", "_selected_action": [event.pk]},
        )
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.RECEIVED and event.error == ""
    assert len(callbacks) == 1


def test_reprocess_cannot_touch_another_tenants_events(staff_client, other_tenant):
    event = WebhookEventFactory(store=ShopifyStoreFactory(tenant=other_tenant), state=WebhookEvent.State.FAILED)
    staff_client.post(
        reverse("admin:catalog_webhookevent_changelist"),
        {"action": "reprocess_events", "_selected_action": [event.pk]},
    )
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED


def test_import_now_action_queues_an_import_run(staff_client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        staff_client.post(
            reverse("admin:catalog_shopifystore_changelist"), {"action": "import_now", "_selected_action": [store.pk]}
        )
    run = ImportRun.objects.get()
    assert (run.store, run.state, run.trigger) == (store, ImportRun.State.QUEUED, ImportRun.Trigger.ADMIN)
    assert len(callbacks) == 1


def test_import_now_twice_reports_the_running_import(staff_client, store):
    for _ in range(2):
        response = staff_client.post(
            reverse("admin:catalog_shopifystore_changelist"),
            {"action": "bulk_import_now", "_selected_action": [store.pk]},
            follow=True,
        )
    assert ImportRun.objects.count() == 1
    assert "Already importing" in response.content.decode()


def test_store_list_links_to_the_connect_form_for_owners_only(owner_client, staff_client, store):
    connect_url = reverse("admin:catalog_shopifystore_connect")
    assert connect_url in owner_client.get(reverse("admin:catalog_shopifystore_changelist")).content.decode()
    assert connect_url not in staff_client.get(reverse("admin:catalog_shopifystore_changelist")).content.decode()


def test_connect_form_lists_only_the_tenants_the_user_owns(owner_client, owner_user, tenant, other_tenant):
    from catalog import tenants
    from catalog.models import Membership

    tenants.add_member(other_tenant, owner_user, role=Membership.Role.STAFF)
    page = owner_client.get(reverse("admin:catalog_shopifystore_connect"))
    assert list(page.context["form"].fields["tenant"].queryset) == [tenant]


def test_staff_cannot_use_the_connect_form(staff_client, tenant):
    url = reverse("admin:catalog_shopifystore_connect")
    assert staff_client.get(url).status_code == 403
    data = {"tenant": tenant.pk, "shop_domain": "x.myshopify.com", "access_token": "t", "webhook_secret": "s"}
    assert staff_client.post(url, data).status_code == 403
    assert not ShopifyStore.objects.exists()


def test_connect_form_refuses_a_tenant_the_user_does_not_own(owner_client, other_tenant):
    data = {"tenant": other_tenant.pk, "shop_domain": "x.myshopify.com", "access_token": "t", "webhook_secret": "s"}
    response = owner_client.post(reverse("admin:catalog_shopifystore_connect"), data)
    assert response.status_code == 200 and response.context["form"].errors["tenant"]
    assert not ShopifyStore.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_connect_form_checks_the_token_against_the_sandbox(owner_client, tenant, make_shop):
    shop, credentials = make_shop(1)
    data = {
        "tenant": tenant.pk,
        "shop_domain": shop.domain,
        "access_token": credentials["access_token"],
        "webhook_secret": credentials["webhook_secret"],
        "admin_url": credentials["admin_url"],
    }
    bad = owner_client.post(reverse("admin:catalog_shopifystore_connect"), {**data, "access_token": "shpat_bad"})
    assert bad.status_code == 200 and "401" in bad.content.decode()
    assert not ShopifyStore.objects.exists()
    good = owner_client.post(reverse("admin:catalog_shopifystore_connect"), data)
    store = ShopifyStore.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("admin:catalog_shopifystore_change", args=[store.pk])
    assert store.access_token == credentials["access_token"] and store.tenant == tenant
