"""Upsert and resolve item issues page by page, and record catalog-level issues.

Designed for a million items: a page of observations costs one SELECT of the open
issues of its variants, and only what changed is written (bulk). Issues that nobody
reported in a complete pass are resolved by streaming the open ones in key order and
checking them against a compact sorted array of the variants seen.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from catalog import timeline
from catalog.models import Catalog, VariantEvent
from galantis.chunks import in_chunks

from .models import PRIORITY_RANK, CatalogIssue, ErrorType, ItemIssue, Priority

logger = logging.getLogger(__name__)

# An issue that is still reported but unchanged is not rewritten on every poll; its
# last_seen moves on at most this often (the run's own time says when it was checked).
LAST_SEEN_REFRESH = timedelta(hours=24)
# Rows per UPDATE ... WHERE id IN (...) and per streamed chunk: below SQLite's variable limit.
WRITE_CHUNK = 900
STREAM_CHUNK = 2000


@dataclass(frozen=True)
class Observation:
    """One problem reported for one variant."""

    variant_id: int
    error_type: ErrorType
    priority: str
    message: str = ""
    reference: str = ""


@dataclass
class IssueCounts:
    opened: int = 0
    updated: int = 0
    resolved: int = 0

    def __iadd__(self, other: IssueCounts) -> IssueCounts:
        self.opened += other.opened
        self.updated += other.updated
        self.resolved += other.resolved
        return self


class SeenVariants:
    """Variant ids seen in one pass: 8 bytes each, sorted once, binary-searched."""

    def __init__(self) -> None:
        self._ids = array("q")
        self._sorted = True

    def add(self, variant_id: int) -> None:
        if self._ids and variant_id < self._ids[-1]:
            self._sorted = False
        self._ids.append(variant_id)

    def __contains__(self, variant_id: int) -> bool:
        if not self._sorted:
            self._ids = array("q", sorted(set(self._ids)))
            self._sorted = True
        i = bisect_left(self._ids, variant_id)
        return i < len(self._ids) and self._ids[i] == variant_id

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class Scope:
    """Which open issues a pass is responsible for: a priority, an error type, or all."""

    priority: str | None = None
    error_type_id: int | None = None
    seen: SeenVariants = field(default_factory=SeenVariants)

    def matches(self, priority: str, error_type_id: int) -> bool:
        return (self.priority is None or priority == self.priority) and (
            self.error_type_id is None or error_type_id == self.error_type_id
        )

    def q(self) -> Q:
        q = Q()
        if self.priority is not None:
            q &= Q(priority=self.priority)
        if self.error_type_id is not None:
            q &= Q(error_type_id=self.error_type_id)
        return q


class IssueWriter:
    """Apply pages of observations for one catalog and source, then resolve what vanished."""

    def __init__(self, catalog: Catalog, source: str, *, now: datetime | None = None) -> None:
        self.catalog = catalog
        self.source = source
        self.now = now or timezone.now()
        self.counts = IssueCounts()

    def _open(self):
        return ItemIssue.objects.open().filter(catalog_id=self.catalog.pk, source=self.source)

    def apply_page(self, reported: Mapping[int, Sequence[Observation]], scope: Scope | None = None) -> IssueCounts:
        """Upsert the issues of the variants in ``reported`` (every problem each one has now).

        A variant's open issues inside ``scope`` that it no longer reports are resolved;
        a variant mapped to an empty list has none left in scope.
        """
        scope = scope or Scope()
        counts = IssueCounts()
        if not reported:
            return counts
        existing: dict[tuple[int, int], ItemIssue] = {
            (issue.variant_id, issue.error_type_id): issue
            for issue in self._open()
            .filter(variant_id__in=list(reported))
            .only("pk", "variant_id", "error_type_id", "priority", "message", "reference", "last_seen")
        }
        to_create: list[ItemIssue] = []
        to_update: list[ItemIssue] = []
        to_touch: list[int] = []
        to_resolve: list[int] = []
        stale_before = self.now - LAST_SEEN_REFRESH
        by_variant: dict[int, set[int]] = {}
        for variant_id, observations in reported.items():
            scope.seen.add(variant_id)
            current = _dedupe(observations)
            by_variant[variant_id] = set(current)
            for type_id, obs in current.items():
                issue = existing.get((variant_id, type_id))
                if issue is None:
                    to_create.append(
                        ItemIssue(
                            tenant_id=self.catalog.tenant_id,
                            catalog_id=self.catalog.pk,
                            variant_id=variant_id,
                            error_type_id=type_id,
                            source=self.source,
                            priority=obs.priority,
                            message=obs.message,
                            reference=obs.reference[:200],
                            first_seen=self.now,
                            last_seen=self.now,
                        )
                    )
                elif (issue.priority, issue.message, issue.reference) != (
                    obs.priority,
                    obs.message,
                    obs.reference[:200],
                ):
                    issue.priority, issue.message, issue.reference = obs.priority, obs.message, obs.reference[:200]
                    issue.last_seen = self.now
                    to_update.append(issue)
                elif issue.last_seen < stale_before:
                    to_touch.append(issue.pk)
        for (variant_id, type_id), issue in existing.items():
            if type_id not in by_variant[variant_id] and scope.matches(issue.priority, type_id):
                to_resolve.append(issue.pk)
        if to_create:
            counts.opened += self._create(to_create)
        if to_update:
            ItemIssue.objects.bulk_update(to_update, ["priority", "message", "reference", "last_seen"], batch_size=500)
            counts.updated += len(to_update)
        for chunk in in_chunks(to_touch, WRITE_CHUNK):
            ItemIssue.objects.filter(pk__in=chunk).update(last_seen=self.now)
        for chunk in in_chunks(to_resolve, WRITE_CHUNK):
            counts.resolved += self._resolve(chunk)
        self.counts += counts
        return counts

    def _create(self, rows: list[ItemIssue]) -> int:
        try:
            with transaction.atomic():
                ItemIssue.objects.bulk_create(rows, batch_size=500)
                # The per-item timeline: the variants' new issues, in one INSERT ... SELECT per chunk.
                # (bulk_create set the pks: PostgreSQL and SQLite both return them.)
                for chunk in in_chunks(rows, WRITE_CHUNK):
                    _record_issues(
                        ItemIssue.objects.filter(pk__in=[r.pk for r in chunk]), VariantEvent.Kind.ISSUE_OPENED, self.now
                    )
            return len(rows)
        except IntegrityError:
            # A concurrent writer (page view vs. scheduled poll) opened some of them first:
            # fall back to one row at a time and skip the ones that now exist.
            created = 0
            for row in rows:
                try:
                    with transaction.atomic():
                        row.pk = None
                        row.save(force_insert=True)
                    created += 1
                except IntegrityError:
                    continue
            return created

    def resolve_unseen(self, scope: Scope) -> int:
        """Resolve open issues in ``scope`` whose variant was not reported in the pass."""
        stale: list[int] = []
        resolved = 0
        rows = (
            self._open()
            .filter(scope.q())
            .order_by("pk")
            .values_list("pk", "variant_id")
            .iterator(chunk_size=STREAM_CHUNK)
        )
        for pk, variant_id in rows:
            if variant_id not in scope.seen:
                stale.append(pk)
                if len(stale) >= WRITE_CHUNK:
                    resolved += self._resolve(stale)
                    stale = []
        if stale:
            resolved += self._resolve(stale)
        self.counts.resolved += resolved
        return resolved

    def resolve_where(self, q: Q) -> int:
        """Resolve the open issues of this catalog and source matching ``q`` (one UPDATE, and its timeline)."""
        resolved = self._open().filter(q).update(resolved_at=self.now, last_seen=self.now)
        if resolved:  # the timeline only when something was resolved: a no-op costs no statement
            just_resolved = ItemIssue.objects.filter(
                catalog_id=self.catalog.pk, source=self.source, resolved_at=self.now
            )
            _record_issues(just_resolved.filter(q), VariantEvent.Kind.ISSUE_RESOLVED, self.now)
        self.counts.resolved += resolved
        return resolved

    def _resolve(self, pks: list[int]) -> int:
        _record_issues(
            ItemIssue.objects.filter(pk__in=pks, resolved_at__isnull=True), VariantEvent.Kind.ISSUE_RESOLVED, self.now
        )
        return ItemIssue.objects.filter(pk__in=pks, resolved_at__isnull=True).update(
            resolved_at=self.now, last_seen=self.now
        )


ISSUE_SOURCE = ("tenant_id", "variant_id", "variant__product_id", "catalog_id")


def _record_issues(issues, kind: str, now: datetime) -> None:
    """Timeline: one event per item issue of ``issues`` (its type's title; Meta's message), one statement."""
    timeline.record_from(
        issues,
        kind,
        at=now,
        source=ISSUE_SOURCE,
        message=Concat(
            F("error_type__code"),
            Value(": "),
            F("message"),
            output_field=TextField(),
        ),
    )


def _dedupe(observations: Iterable[Observation]) -> dict[int, Observation]:
    """One observation per error type: the highest priority wins, messages are joined."""
    out: dict[int, Observation] = {}
    for obs in observations:
        prev = out.get(obs.error_type.pk)
        if prev is None:
            out[obs.error_type.pk] = obs
            continue
        priority = min(prev.priority, obs.priority, key=lambda p: PRIORITY_RANK.get(p, 9))
        message = prev.message if obs.message in prev.message else f"{prev.message}\n{obs.message}".strip()
        out[obs.error_type.pk] = Observation(prev.variant_id, prev.error_type, priority, message, prev.reference)
    return out


# --- Catalog-level issues -------------------------------------------------------------------


def open_catalog_issue(
    catalog: Catalog,
    error_type: ErrorType,
    *,
    source: str,
    key: str = "",
    priority: str | None = None,
    title: str = "",
    message: str = "",
    affected_items: int | None = None,
    details: dict | None = None,
    now: datetime | None = None,
) -> CatalogIssue:
    """Open (or refresh) the catalog's issue of ``error_type`` / ``key``; first_seen is kept."""
    now = now or timezone.now()
    values = {
        "source": source,
        "priority": priority or error_type.priority,
        "title": title[:500],
        "message": message,
        "affected_items": affected_items,
        "details": details or {},
        "last_seen": now,
    }
    issue = CatalogIssue.objects.open().filter(catalog_id=catalog.pk, error_type=error_type, key=key[:200]).first()
    if issue is not None:
        changed = [name for name, value in values.items() if getattr(issue, name) != value]
        if changed:
            for name in changed:
                setattr(issue, name, values[name])
            issue.save(update_fields=changed)
        return issue
    try:
        with transaction.atomic():
            return CatalogIssue.objects.create(
                tenant_id=catalog.tenant_id,
                catalog=catalog,
                error_type=error_type,
                key=key[:200],
                first_seen=now,
                **values,
            )
    except IntegrityError:  # opened concurrently
        return CatalogIssue.objects.open().get(catalog_id=catalog.pk, error_type=error_type, key=key[:200])


def resolve_catalog_issues(
    catalog: Catalog, q: Q | None = None, *, keep_keys: Iterable[tuple[int, str]] = (), now: datetime | None = None
) -> int:
    """Resolve the catalog's open issues matching ``q``, except ``(error_type_id, key)`` pairs kept."""
    now = now or timezone.now()
    qs = CatalogIssue.objects.open().filter(catalog_id=catalog.pk).filter(q or Q())
    keep = set(keep_keys)
    if keep:
        ids = [pk for pk, type_id, key in qs.values_list("pk", "error_type_id", "key") if (type_id, key) not in keep]
        return CatalogIssue.objects.filter(pk__in=ids).update(resolved_at=now, last_seen=now) if ids else 0
    return qs.update(resolved_at=now, last_seen=now)


def highest_priority(priorities: Iterable[str]) -> str:
    """The most urgent of ``priorities`` (LOW when empty)."""
    return min(priorities, key=lambda p: PRIORITY_RANK.get(p, 9), default=Priority.LOW)
