"""Make the sandbox misbehave on demand, from tests, the admin or the demo.

    from sandbox import faults
    faults.configure(catalog_id=catalog_id, rate_limited=True)          # 80014 / 80009 now
    faults.configure(catalog_id=catalog_id, latency_ms=300, error_rate=0.2)
    faults.configure(catalog_id=catalog_id, fail_next=2)                 # next two calls: 500, code 2
    faults.configure(catalog_id=catalog_id, lose_answer_next=1)          # next write is done, then 500
    faults.configure(outage=True)                                        # every call: 503, code 2
    faults.configure(catalog_id=catalog_id, batch_delay=30)              # slow batch processing
    faults.configure(token=access_token, expires_at=timezone.now())      # 190 / 463 from now on
    faults.configure(token=access_token, revoked=True)                   # 190 / 467
    faults.reset()                                                       # back to well-behaved

Without ``catalog_id`` or ``token`` a setting applies to every call. Settings left
out keep their current value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import AccessToken, FaultProfile, ProductCatalog

_UNSET: Any = object()
PROFILE_SETTINGS = {
    "latency_ms": "latency_ms",
    "error_rate": "error_rate",
    "fail_next": "fail_next",
    "lose_answer_next": "lose_answer_next",
    "rate_limited": "rate_limited",
    "rate_limit_per_hour": "rate_limit_per_hour",
    "regain_access_minutes": "regain_access_minutes",
    "outage": "outage",
    "batch_delay": "batch_delay_seconds",
}


def _catalog(catalog_id: str | ProductCatalog) -> ProductCatalog:
    if isinstance(catalog_id, ProductCatalog):
        return catalog_id
    pk = ProductCatalog.pk_from_fbid(str(catalog_id))
    catalog = ProductCatalog.objects.filter(pk=pk).first() if pk else None
    if catalog is None:
        raise ValueError(f"No sandbox catalog with id {catalog_id!r}")
    return catalog


def _token(token: str | AccessToken) -> AccessToken:
    if isinstance(token, AccessToken):
        return token
    found = AccessToken.objects.filter(token=token).first()
    if found is None:
        raise ValueError("No sandbox access token matches")
    return found


def configure(
    *,
    catalog_id: str | ProductCatalog | None = None,
    token: str | AccessToken | None = None,
    latency_ms: int = _UNSET,
    error_rate: float = _UNSET,
    fail_next: int = _UNSET,
    lose_answer_next: int = _UNSET,
    rate_limited: bool = _UNSET,
    rate_limit_per_hour: int | None = _UNSET,
    regain_access_minutes: int = _UNSET,
    outage: bool = _UNSET,
    batch_delay: float | None = _UNSET,
    expires_at: datetime | None = _UNSET,
    revoked: bool = _UNSET,
) -> FaultProfile | None:
    """Set faults for one catalog, one token, or (neither given) every call; return the profile."""
    if catalog_id is not None and token is not None:
        raise ValueError("Configure a catalog or a token, not both at once")
    values = {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "fail_next": fail_next,
        "lose_answer_next": lose_answer_next,
        "rate_limited": rate_limited,
        "rate_limit_per_hour": rate_limit_per_hour,
        "regain_access_minutes": regain_access_minutes,
        "outage": outage,
        "batch_delay": batch_delay,
    }
    changes = {PROFILE_SETTINGS[name]: value for name, value in values.items() if value is not _UNSET}
    if "error_rate" in changes and not 0 <= changes["error_rate"] <= 1:
        raise ValueError("error_rate is a share of calls between 0 and 1")
    target_token = _token(token) if token is not None else None
    if target_token is not None and (expires_at is not _UNSET or revoked is not _UNSET):
        if expires_at is not _UNSET:
            target_token.expires_at = expires_at
        if revoked is not _UNSET:
            target_token.revoked_at = timezone.now() if revoked else None
        target_token.save(update_fields=["expires_at", "revoked_at"])
    elif expires_at is not _UNSET or revoked is not _UNSET:
        raise ValueError("expires_at and revoked need a token")
    if not changes:
        return None
    if catalog_id is not None:
        lookup = {"scope": FaultProfile.Scope.CATALOG, "catalog": _catalog(catalog_id)}
    elif target_token is not None:
        lookup = {"scope": FaultProfile.Scope.TOKEN, "token": target_token}
    else:
        lookup = {"scope": FaultProfile.Scope.GLOBAL}
    profile, _ = FaultProfile.objects.update_or_create(**lookup, defaults=changes)
    return profile


def reset(*, catalog_id: str | ProductCatalog | None = None, token: str | AccessToken | None = None) -> None:
    """Remove faults of one catalog or token, or (neither given) every fault profile."""
    profiles = FaultProfile.objects.all()
    if catalog_id is not None:
        profiles = profiles.filter(catalog=_catalog(catalog_id))
    if token is not None:
        profiles = profiles.filter(token=_token(token))
    profiles.delete()


@dataclass
class ActiveFaults:
    """The faults that apply to one call (the worst value of each applicable profile)."""

    profile_ids: list[int]
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limited: bool = False
    rate_limit_per_hour: int | None = None
    regain_access_minutes: int = 1
    outage: bool = False
    batch_delay: float | None = None
    failing_profiles: tuple[int, ...] = ()
    losing_profiles: tuple[int, ...] = ()

    def take_forced_failure(self) -> bool:
        """Consume one of the ``fail_next`` failures (atomic, safe across threads and processes)."""
        for pk in self.failing_profiles:
            if FaultProfile.objects.filter(pk=pk, fail_next__gt=0).update(fail_next=F("fail_next") - 1):
                return True
        return False

    def take_lost_answer(self) -> bool:
        """Consume one of the ``lose_answer_next`` faults (atomic, like :meth:`take_forced_failure`)."""
        for pk in self.losing_profiles:
            if FaultProfile.objects.filter(pk=pk, lose_answer_next__gt=0).update(
                lose_answer_next=F("lose_answer_next") - 1
            ):
                return True
        return False


def active_faults(catalog: ProductCatalog | None = None, token: AccessToken | None = None) -> ActiveFaults:
    """Merge the global, catalog and token profiles that apply to a call (one query)."""
    scope = Q(scope=FaultProfile.Scope.GLOBAL)
    if catalog is not None:
        scope |= Q(catalog=catalog)
    if token is not None:
        scope |= Q(token=token)
    profiles = list(FaultProfile.objects.filter(scope))
    active = ActiveFaults(profile_ids=[p.pk for p in profiles])
    by_priority = sorted(profiles, key=lambda p: {"global": 0, "token": 1, "catalog": 2}[p.scope])
    for profile in by_priority:
        active.latency_ms = max(active.latency_ms, profile.latency_ms)
        active.error_rate = max(active.error_rate, profile.error_rate)
        active.rate_limited = active.rate_limited or profile.rate_limited
        active.outage = active.outage or profile.outage
        if profile.rate_limit_per_hour is not None:
            current = active.rate_limit_per_hour
            active.rate_limit_per_hour = (
                min(current, profile.rate_limit_per_hour) if current else profile.rate_limit_per_hour
            )
        active.regain_access_minutes = max(active.regain_access_minutes, profile.regain_access_minutes)
        if profile.batch_delay_seconds is not None:
            # The most specific profile wins (catalog over token over global).
            active.batch_delay = profile.batch_delay_seconds
    active.failing_profiles = tuple(p.pk for p in profiles if p.fail_next > 0)
    active.losing_profiles = tuple(p.pk for p in profiles if p.lose_answer_next > 0)
    return active


def batch_delay_for(catalog: ProductCatalog, token: AccessToken | None = None) -> float:
    """Seconds before a batch or feed upload of this catalog is processed."""
    delay = active_faults(catalog, token).batch_delay
    return float(settings.SANDBOX_BATCH_DELAY_SECONDS if delay is None else delay)
