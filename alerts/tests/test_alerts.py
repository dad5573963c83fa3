"""Alerts: each condition, the digest's dedupe, a mail backend that fails, the banners, tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from alerts import digest, schedules, tasks
from alerts import mail as alert_mail
from alerts.models import Alert, Digest, Kind
from alerts.tests.factories import AlertFactory, AlertSettingsFactory
from catalog import item_state
from catalog import tenants as tenant_services
from catalog.models import Catalog, DriftFinding, Membership, MetaConnection, Variant
from catalog.tests.factories import CatalogFactory, LiveVariantFactory, UserFactory, VariantFactory
from conversions.tests.factories import ConversionEventFactory

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def owner(tenant):
    user = UserFactory(username="alert-owner", email="owner@tenant-a.example")
    tenant_services.add_member(tenant, user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def catalog(tenant, owner):
    return CatalogFactory(tenant=tenant, name="Main catalog")


def open_alerts(tenant, kind: str) -> list[Alert]:
    return list(Alert.objects.for_tenant(tenant).filter(kind=kind, resolved_at__isnull=True))


# -- each condition produces an alert -------------------------------------------------------------


def test_token_expiring_soon_opens_an_alert(tenant, catalog):
    MetaConnection.objects.filter(pk=catalog.connection_id).update(token_expires_at=timezone.now() + timedelta(days=2))
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.TOKEN)
    assert "expires" in alert.title
    assert alert.fix_url.startswith("http://") and "tenant=tenant-a" in alert.fix_url


def test_revoked_token_opens_an_alert(tenant, catalog):
    MetaConnection.objects.filter(pk=catalog.connection_id).update(token_status=MetaConnection.TokenStatus.REVOKED)
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.TOKEN)
    assert "revoked" in alert.title


def test_paused_sync_opens_an_alert_with_the_catalog_fix_link(tenant, catalog, settings):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.OUTAGE, paused_reason="Meta 503")
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.SYNC_PAUSED)
    assert alert.fix_url == settings.SITE_URL + reverse("admin:catalog_catalog_change", args=[catalog.pk])


def test_failure_spike_opens_an_alert_from_the_maintained_counts(tenant, catalog, settings):
    settings.ALERTS_FAILURE_MIN_VARIANTS = 1
    LiveVariantFactory.create_batch(3, catalog=catalog)
    LiveVariantFactory(catalog=catalog, meta_status=Variant.SyncStatus.FAILED, verdict="")
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.FAILURE_SPIKE)
    assert alert.title.startswith("25%")
    assert "state=failed" in alert.fix_url


def test_failure_share_under_the_threshold_is_no_alert(tenant, catalog, settings):
    settings.ALERTS_FAILURE_SHARE_PCT = 50
    settings.ALERTS_FAILURE_MIN_VARIANTS = 1
    LiveVariantFactory.create_batch(3, catalog=catalog)
    LiveVariantFactory(catalog=catalog, meta_status=Variant.SyncStatus.FAILED, verdict="")
    digest.build_for_tenant(tenant)
    assert open_alerts(tenant, Kind.FAILURE_SPIKE) == []


def _review(variant, status: str, *reasons: str) -> None:
    """Meta's review as the verdict poll records it (item_state.record_verdicts writes the timeline)."""
    item_state.record_verdicts(
        variant.catalog_id,
        [
            item_state.ItemVerdict(
                retailer_id=variant.retailer_id,
                review_status=status,
                rejection_reasons=reasons,
                visibility="published",
                channel_review=(("whatsapp", "APPROVED"),),
            )
        ],
    )


def test_item_rejected_after_being_live_opens_an_alert_on_the_next_run(tenant, catalog):
    live = LiveVariantFactory.create_batch(2, catalog=catalog, verdict=Variant.Verdict.IN_REVIEW)
    for variant in live:
        _review(variant, "approved")  # live: on the timeline
    never_live = LiveVariantFactory(catalog=catalog, verdict=Variant.Verdict.IN_REVIEW)
    _review(never_live, "rejected", "Prohibited item")  # rejected at its first review
    now = timezone.now()
    digest.build_for_tenant(tenant, now=now)  # nothing was live and then rejected: nothing to say
    assert open_alerts(tenant, Kind.REJECTED) == []
    _review(live[0], "rejected", "Misleading claims")
    digest.build_for_tenant(tenant, now=timezone.now() + HOUR)
    [alert] = open_alerts(tenant, Kind.REJECTED)
    assert alert.title.startswith("1 item") and "after being live" in alert.title
    assert live[0].retailer_id in alert.message and "Misleading claims" in alert.message
    assert never_live.retailer_id not in alert.message


def test_rejected_alert_resolves_when_the_item_is_fixed(tenant, catalog):
    variant = LiveVariantFactory(catalog=catalog, verdict=Variant.Verdict.IN_REVIEW)
    _review(variant, "approved")
    _review(variant, "rejected")
    digest.build_for_tenant(tenant, now=timezone.now() + HOUR)
    assert len(open_alerts(tenant, Kind.REJECTED)) == 1
    _review(variant, "approved")
    digest.build_for_tenant(tenant, now=timezone.now() + 2 * HOUR)
    assert open_alerts(tenant, Kind.REJECTED) == []


def test_dead_conversions_events_open_an_alert(tenant, catalog):
    ConversionEventFactory(catalog=catalog, state="dead", last_error="refused", last_error_code="100")
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.CONVERSIONS)
    assert "1 purchase event" in alert.title and "state__exact=dead" in alert.fix_url


def test_ghosts_and_drift_found_in_meta_open_one_alert_per_catalog(tenant, catalog):
    now = timezone.now()
    ghost, drifted = DriftFinding.Kind.GHOST, DriftFinding.Kind.DRIFT
    for kind, rid in ((ghost, "G1"), (ghost, "G2"), (drifted, "D1")):
        DriftFinding.objects.create(
            tenant=tenant, catalog=catalog, kind=kind, retailer_id=rid, first_found_at=now, last_found_at=now
        )
    DriftFinding.objects.create(
        tenant=tenant,
        catalog=catalog,
        kind=DriftFinding.Kind.GHOST,
        retailer_id="KEPT",
        state=DriftFinding.State.DISMISSED,
        first_found_at=now,
        last_found_at=now,
    )
    digest.build_for_tenant(tenant)
    [alert] = open_alerts(tenant, Kind.DRIFT)
    assert "2 ghost item(s)" in alert.message and "1 item(s) whose values were changed" in alert.message
    assert f"catalog__id__exact={catalog.pk}" in alert.fix_url
    DriftFinding.objects.filter(state=DriftFinding.State.OPEN).update(state=DriftFinding.State.FIXED)
    digest.build_for_tenant(tenant)
    assert open_alerts(tenant, Kind.DRIFT) == []


# -- digests --------------------------------------------------------------------------------------


def test_two_runs_in_a_row_send_one_digest(tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    tasks.run_digests()
    tasks.run_digests()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@tenant-a.example"]
    assert "Main catalog" in mail.outbox[0].body and "/admin/catalog/catalog/" in mail.outbox[0].body


def test_many_alerts_at_once_are_one_digest_and_one_arriving_later_waits_for_the_next_period(tenant, catalog):
    """No storm: four conditions in one period are one e-mail, each with its fix link; news waits a period."""
    MetaConnection.objects.filter(pk=catalog.connection_id).update(token_expires_at=timezone.now() + timedelta(days=2))
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    ConversionEventFactory(catalog=catalog, state="dead", last_error="refused", last_error_code="100")
    now = timezone.now()
    DriftFinding.objects.create(
        tenant=tenant,
        catalog=catalog,
        kind=DriftFinding.Kind.GHOST,
        retailer_id="G1",
        first_found_at=now,
        last_found_at=now,
    )
    first = digest.build_for_tenant(tenant, now=now)
    assert digest.build_for_tenant(tenant, now=now + timedelta(minutes=5)) is None  # the task ran again: nothing
    kinds = set(Alert.objects.filter(pk__in=first.alert_ids).values_list("kind", flat=True))
    assert kinds == {Kind.TOKEN, Kind.SYNC_PAUSED, Kind.CONVERSIONS, Kind.DRIFT}
    assert first.body.count("Fix: ") == 4

    # A new condition within the period is not a second e-mail now, but the whole of the next one.
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.OUTAGE)
    assert digest.build_for_tenant(tenant, now=now + timedelta(minutes=20)) is None
    second = digest.build_for_tenant(tenant, now=now + HOUR)
    assert [a.kind for a in Alert.objects.filter(pk__in=second.alert_ids)] == [Kind.SYNC_PAUSED]
    assert alert_mail.send_pending(now=now + HOUR) == (2, 0) and len(mail.outbox) == 2


def test_an_unchanged_alert_is_not_sent_again_next_period(tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    now = timezone.now()
    digest.build_for_tenant(tenant, now=now)
    assert digest.build_for_tenant(tenant, now=now + HOUR) is None


def test_a_changed_alert_is_sent_again(tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    now = timezone.now()
    digest.build_for_tenant(tenant, now=now)
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.OUTAGE)
    assert digest.build_for_tenant(tenant, now=now + HOUR) is not None


def test_an_unchanged_alert_is_said_again_after_a_day(tenant, catalog):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    now = timezone.now()
    digest.build_for_tenant(tenant, now=now)
    assert digest.build_for_tenant(tenant, now=now + timedelta(hours=24)) is not None


def test_failing_mail_backend_keeps_the_digest_for_the_next_run(tenant, catalog, settings):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    settings.EMAIL_BACKEND = "alerts.tests.test_alerts.FailingBackend"
    result = tasks.run_digests()  # does not raise
    assert result == {"built": 1, "sent": 0, "failed": 1}
    [pending] = Digest.objects.for_tenant(tenant)
    assert pending.state == Digest.State.PENDING and pending.attempts == 1
    assert "mail server down" in pending.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.run_digests()
    pending.refresh_from_db()
    assert pending.state == Digest.State.SENT and pending.attempts == 2
    assert len(mail.outbox) == 1


def test_settings_choose_who_gets_which_kind(tenant, catalog, owner):
    staff = UserFactory(username="alert-staff", email="staff@tenant-a.example")
    tenant_services.add_member(tenant, staff, role=Membership.Role.STAFF)
    AlertSettingsFactory(
        tenant=tenant,
        kinds=[Kind.SYNC_PAUSED],
        roles=["owner", "staff"],
        opted_out="owner@tenant-a.example",
        extra_recipients="ops@example.com",
    )
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    ConversionEventFactory(catalog=catalog, state="dead")
    made = digest.build_for_tenant(tenant)
    assert made.recipients == ["ops@example.com", "staff@tenant-a.example"]
    assert [a.kind for a in Alert.objects.filter(pk__in=made.alert_ids)] == [Kind.SYNC_PAUSED]


def test_ensure_schedules_creates_the_digest_schedule(settings):
    Schedule.objects.filter(name=schedules.DIGEST_SCHEDULE).delete()
    call_command("ensure_schedules")
    schedule = Schedule.objects.get(name=schedules.DIGEST_SCHEDULE)
    assert schedule.func == "alerts.tasks.run_digests" and schedule.minutes == settings.ALERTS_DIGEST_MINUTES


# -- in-app notice and isolation ------------------------------------------------------------------


def test_health_page_banner_shows_the_open_alerts(tenant, catalog, owner, client):
    Catalog.objects.filter(pk=catalog.pk).update(pause_kind=Catalog.PauseKind.MANUAL)
    digest.build_for_tenant(tenant)
    client.force_login(owner)
    page = client.get("/health/?tenant=tenant-a").content.decode()
    assert 'data-testid="alerts"' in page and "Sync of Main catalog is paused" in page


def test_admin_index_lists_the_open_alerts(tenant, owner, client):
    AlertFactory(tenant=tenant, title="Sync of Main catalog is paused")
    client.force_login(owner)
    assert "Sync of Main catalog is paused" in client.get(reverse("admin:index")).content.decode()


def test_tenants_never_see_each_others_alerts(tenant, other_tenant, owner, client):
    AlertFactory(tenant=other_tenant, title="Bravo secret alert")
    theirs = VariantFactory(tenant=other_tenant)  # noqa: F841 - tenant B has data too
    client.force_login(owner)
    assert "Bravo secret alert" not in client.get("/health/?tenant=tenant-a").content.decode()
    assert "Bravo secret alert" not in client.get(reverse("admin:index")).content.decode()
    other = Alert.objects.get(tenant=other_tenant)
    assert client.get(reverse("admin:alerts_alert_change", args=[other.pk])).status_code == 404


def test_a_digest_names_only_its_tenants_alerts_and_members(tenant, other_tenant, catalog):
    theirs = CatalogFactory(tenant=other_tenant, name="Bravo catalog")
    stranger = UserFactory(username="bravo-owner", email="owner@tenant-b.example")
    tenant_services.add_member(other_tenant, stranger, role=Membership.Role.OWNER)
    Catalog.objects.filter(pk__in=[catalog.pk, theirs.pk]).update(pause_kind=Catalog.PauseKind.MANUAL)
    made = digest.build_for_tenant(tenant)
    assert made.recipients == ["owner@tenant-a.example"]
    assert "Bravo" not in made.body
