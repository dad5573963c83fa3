"""Turn a tenant's conditions into alert rows and, once a period, into one digest of what is news.

Building a digest only writes rows (``Digest``, PENDING); ``alerts.mail`` sends them. So a
mail server that is down never holds up this run, a sync, or another tenant, and a digest
that could not go is sent by the next run.

No storms: an alert goes into a digest when it is new, when what it says changed (its
``fingerprint``: a pause's kind, a token's expiry day, a failure share's band, the rejected
count), or when it was last sent more than ``ALERTS_REPEAT_HOURS`` ago, and that holds across
a condition that flaps (resolved and open again). One digest per tenant per period.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from catalog.models import Membership, Tenant

from . import conditions, texts
from .models import Alert, AlertSettings, Digest

log = logging.getLogger(__name__)


def build_all(*, now: datetime | None = None) -> int:
    """Refresh every tenant's alerts and build its digest when one is due; return how many were built."""
    now = now or timezone.now()
    built = 0
    for tenant in Tenant.objects.order_by("pk").iterator():
        try:
            built += build_for_tenant(tenant, now=now) is not None
        except Exception:  # one tenant's bad data must not keep the others' alerts back
            log.exception("alerts: building the digest of tenant %s failed", tenant.pk)
    return built


def build_for_tenant(tenant: Tenant, *, now: datetime | None = None) -> Digest | None:
    """Record the tenant's conditions as alerts, then build its digest if one is due (else None)."""
    now = now or timezone.now()
    refresh_alerts(tenant, now=now)
    return build_digest(tenant, now=now)


def refresh_alerts(tenant: Tenant, *, now: datetime) -> list[Alert]:
    """Open, update and resolve the tenant's alert rows from its current conditions; return the open ones."""
    previous = {a.key: a for a in Alert.objects.for_tenant(tenant)}
    found = conditions.find(tenant, previous, now=now)
    open_keys = set()
    with transaction.atomic():
        for cond in found:
            row = previous.get(cond.key)
            fields = {
                "kind": cond.kind,
                "catalog_id": cond.catalog_id,
                "seen_count": cond.seen_count,
                "base_count": cond.base_count,
            }
            if cond.open:
                open_keys.add(cond.key)
                fields |= {
                    "title": texts.english(cond.title)[:200],
                    "message": texts.english(cond.message),
                    "fix_url": cond.fix_url,
                    "fix_label": texts.english(cond.fix_label)[:100],
                    "texts": {
                        name: value
                        for name, value in (
                            ("title", cond.title),
                            ("message", cond.message),
                            ("fix_label", cond.fix_label),
                        )
                        if isinstance(value, dict)
                    },
                    "fingerprint": cond.fingerprint[:200],
                    "last_seen_at": now,
                    "resolved_at": None,
                }
                if row is None or row.resolved_at is not None:
                    fields["opened_at"] = now
            elif row is None:
                fields |= {"title": texts.english(cond.title) or cond.key, "resolved_at": now}
            if row is None:
                Alert.objects.create(tenant=tenant, key=cond.key, **fields)
            else:
                Alert.objects.filter(pk=row.pk).update(**fields)
        Alert.objects.for_tenant(tenant).filter(resolved_at__isnull=True).exclude(key__in=open_keys).update(
            resolved_at=now
        )
    return list(Alert.objects.for_tenant(tenant).filter(resolved_at__isnull=True))


def is_due(alert: Alert, now: datetime) -> bool:
    """Is the open alert news: never sent, changed since it was sent, or last sent a day (ALERTS_REPEAT_HOURS) ago?"""
    return (
        alert.last_sent_at is None
        or alert.sent_fingerprint != alert.fingerprint
        or alert.last_sent_at <= now - timedelta(hours=settings.ALERTS_REPEAT_HOURS)
    )


def settings_of(tenant: Tenant) -> AlertSettings:
    """The tenant's alert settings (unsaved defaults when it has none: every kind, to the owners)."""
    return AlertSettings.objects.filter(tenant=tenant).first() or AlertSettings(tenant=tenant)


def _addresses(text: str) -> list[str]:
    return [a.strip().lower() for a in re.split(r"[,;\s]+", text or "") if "@" in a]


def recipients(tenant: Tenant, prefs: AlertSettings) -> list[str]:
    """The e-mail addresses the tenant's digest goes to: members of the chosen roles, less opt-outs, plus extras."""
    roles = prefs.roles or [Membership.Role.OWNER]
    members = (
        get_user_model()
        .objects.filter(memberships__tenant=tenant, memberships__role__in=roles, is_active=True)
        .exclude(Q(email="") | Q(email__isnull=True))
    )
    opted_out = set(_addresses(prefs.opted_out))
    found = {e.lower() for e in members.values_list("email", flat=True)} - opted_out
    return sorted(found | set(_addresses(prefs.extra_recipients)))


def build_digest(tenant: Tenant, *, now: datetime) -> Digest | None:
    """One PENDING digest of the tenant's open alerts that are news (None: nothing to send, or sent this period)."""
    prefs = settings_of(tenant)
    if not prefs.enabled:
        return None
    half_period = timedelta(minutes=settings.ALERTS_DIGEST_MINUTES) / 2
    if Digest.objects.for_tenant(tenant).filter(created_at__gt=now - half_period).exists():
        return None  # one digest per period, even when the task runs more often
    kinds = set(prefs.kinds if prefs.kinds is not None else [])
    due = [
        a
        for a in Alert.objects.for_tenant(tenant)
        .filter(resolved_at__isnull=True, kind__in=kinds)
        .order_by("opened_at", "pk")
        if is_due(a, now)
    ]
    if not due:
        return None
    to = recipients(tenant, prefs)
    if not to:
        log.info("alerts: tenant %s has %s alert(s) and nobody to tell", tenant.pk, len(due))
        return None
    # Members have no language of their own yet: the digest is written in the site's LANGUAGE_CODE.
    with translation.override(settings.LANGUAGE_CODE):
        subject = ngettext(
            "[Galantis] %(tenant)s: %(n)s alert — %(title)s",
            "[Galantis] %(tenant)s: %(n)s alerts — %(title)s",
            len(due),
        ) % {"tenant": tenant, "n": len(due), "title": due[0].display_title}
        body = render_to_string(
            "alerts/digest.txt",
            {
                "tenant": tenant,
                "alerts": due,
                "health_url": conditions.absolute(f"/health/?tenant={tenant.slug}"),
            },
        )
    subject = subject[:200]
    with transaction.atomic():
        digest = Digest.objects.create(
            tenant=tenant,
            subject=subject,
            body=body,
            recipients=to,
            alert_ids=[a.pk for a in due],
            created_at=now,
        )
        for alert in due:
            Alert.objects.filter(pk=alert.pk).update(last_sent_at=now, sent_fingerprint=alert.fingerprint)
    log.info("alerts: digest %s of tenant %s built with %s alert(s)", digest.pk, tenant.pk, len(due))
    return digest
