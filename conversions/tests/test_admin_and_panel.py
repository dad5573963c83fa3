"""The Conversions API in the admin (queue, dead letters, settings) and on the merchant health page."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from catalog.tests.factories import CatalogFactory
from conversions import send
from conversions.models import ConversionEvent
from conversions.schedules import SCHEDULES

from .factories import ConversionEventFactory, ConversionsSettingsFactory

pytestmark = pytest.mark.django_db
DEAD_LETTERS = reverse("admin:catalog_syncbatch_deadletters")
State = ConversionEvent.State


@pytest.fixture
def catalog(tenant):
    return CatalogFactory(
        tenant=tenant,
        pixel_id="200000000000001",
        event_sources=[{"id": "200000000000001", "name": "Pixel"}],
        checks_at=timezone.now(),
    )


def section(response, kind="capi") -> dict:
    return next(s for s in response.context["sections"] if s["kind"] == kind)


def test_dead_events_are_listed_among_the_dead_letters_of_their_tenant_only(staff_client, catalog, other_tenant):
    mine = ConversionEventFactory(catalog=catalog, state=State.DEAD, last_error="Meta: (#100) Invalid parameter")
    ConversionEventFactory(catalog=CatalogFactory(tenant=other_tenant), state=State.DEAD, last_error="theirs")
    response = staff_client.get(DEAD_LETTERS)
    rows = section(response)["rows"]
    assert [row["id"] for row in rows] == [mine.pk] and rows[0]["may_retry"]
    assert "Invalid parameter" in response.content.decode() and "theirs" not in response.content.decode()


def test_staff_retry_puts_a_dead_event_back_in_the_queue(staff_client, catalog, django_capture_on_commit_callbacks):
    dead = ConversionEventFactory(catalog=catalog, state=State.DEAD, attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(DEAD_LETTERS, {"kind": "capi", "id": dead.pk})
    assert response.status_code == 302
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (State.QUEUED, 0)
    assert OrmQ.objects.count() == 1  # its catalog's send is queued


def test_a_viewer_cannot_retry(viewer_client, catalog):
    dead = ConversionEventFactory(catalog=catalog, state=State.DEAD)
    assert viewer_client.post(DEAD_LETTERS, {"kind": "capi", "id": dead.pk}).status_code == 403
    assert ConversionEvent.objects.get().state == State.DEAD


def test_another_tenants_dead_event_is_a_404(staff_client, other_tenant):
    theirs = ConversionEventFactory(catalog=CatalogFactory(tenant=other_tenant), state=State.DEAD)
    assert staff_client.post(DEAD_LETTERS, {"kind": "capi", "id": theirs.pk}).status_code == 404
    assert staff_client.get(reverse("admin:conversions_conversionevent_change", args=[theirs.pk])).status_code == 404


def test_an_events_admin_page_shows_no_customer_data(admin_client, catalog):
    event = ConversionEventFactory(catalog=catalog)
    html = admin_client.get(reverse("admin:conversions_conversionevent_change", args=[event.pk])).content.decode()
    assert "a" * 64 not in html and "Mozilla" not in html and "content_ids" in html


def test_the_health_panel_counts_sent_failed_and_shows_the_last_error(owner_client, tenant, catalog):
    now = timezone.now()
    ConversionEventFactory.create_batch(2, catalog=catalog, state=State.SENT, sent_at=now)
    ConversionEventFactory(catalog=catalog, state=State.SENT, sent_at=now - timedelta(days=2))
    ConversionEventFactory(catalog=catalog, state=State.DEAD, last_error="Meta: event_time is too old")
    response = owner_client.get(reverse("health:index") + f"?tenant={tenant.slug}")
    html = response.content.decode()
    assert 'data-testid="conversions-sent" data-count="2"' in html
    assert 'data-testid="conversions-failed" data-count="1"' in html
    assert "event_time is too old" in html and 'data-linked="yes"' in html


def test_the_health_panel_says_when_no_pixel_is_linked(owner_client, tenant):
    CatalogFactory(tenant=tenant, pixel_id="")
    html = owner_client.get(reverse("health:index") + f"?tenant={tenant.slug}").content.decode()
    assert 'data-linked="no"' in html and "No pixel" in html


def test_the_health_panel_shows_test_mode(owner_client, tenant, catalog):
    ConversionsSettingsFactory(tenant=tenant, test_event_code="TEST123")
    html = owner_client.get(reverse("health:index") + f"?tenant={tenant.slug}").content.decode()
    assert 'data-testid="conversions-test-mode"' in html and "TEST123" in html


def test_only_an_owner_may_set_the_test_event_code(owner_client, staff_client, tenant):
    settings = ConversionsSettingsFactory(tenant=tenant)
    url = reverse("admin:conversions_conversionssettings_change", args=[settings.pk])
    data = {"enabled": "on", "test_event_code": "TEST9"}
    assert staff_client.post(url, data).status_code == 403
    assert owner_client.post(url, data).status_code == 302
    settings.refresh_from_db()
    assert settings.test_event_code == "TEST9"


def test_ensure_schedules_creates_the_conversions_schedules():
    call_command("ensure_schedules", stdout=StringIO())
    assert set(Schedule.objects.filter(name__in=[e.name for e in SCHEDULES]).values_list("func", flat=True)) == {
        e.func for e in SCHEDULES
    }


def test_the_schedule_queues_one_send_per_catalog_with_due_events(catalog, django_capture_on_commit_callbacks):
    ConversionEventFactory.create_batch(2, catalog=catalog)
    ConversionEventFactory(catalog=catalog, next_attempt_at=timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert send.queue_due_sends() == 1
    assert OrmQ.objects.count() == 1


def test_a_stale_claim_goes_back_to_the_queue(catalog):
    event = ConversionEventFactory(
        catalog=catalog, state=State.SENDING, claimed_at=timezone.now() - send.CLAIM_TIMEOUT - timedelta(seconds=1)
    )
    assert send.release_stale_claims() == 1
    event.refresh_from_db()
    assert event.state == State.QUEUED


def test_events_meta_can_no_longer_take_lose_their_personal_data(catalog):
    old = timezone.now() - timedelta(days=8)
    queued = ConversionEventFactory(catalog=catalog, event_time=old)
    dead = ConversionEventFactory(catalog=catalog, event_time=old, state=State.DEAD)
    fresh = ConversionEventFactory(catalog=catalog)
    assert send.purge_expired() == 2
    for row in (queued, dead, fresh):
        row.refresh_from_db()
    assert queued.state == State.DEAD and queued.payload["user_data"] == {} and dead.payload["user_data"] == {}
    assert fresh.payload["user_data"]


def test_two_workers_never_claim_the_same_event(catalog):
    ConversionEventFactory.create_batch(3, catalog=catalog)
    first = send.claim(catalog.pk)
    assert len(first) == 3 and send.claim(catalog.pk) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks taken by two connections: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_the_same_moment_get_disjoint_events():
    """Both claims run while the other holds its lock: each takes rows the other skipped, none twice."""
    catalog = CatalogFactory(pixel_id="200000000000001")
    ConversionEventFactory.create_batch(40, catalog=catalog)
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            claimed.append([row.pk for row in send.claim(catalog.pk, limit=30)])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    first, second = claimed
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40
    assert ConversionEvent.objects.filter(state=State.SENDING).count() == 40
