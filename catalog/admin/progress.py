"""Progress of long work in the admin: a running import or sync as done / total and an estimate.

Pages show it once rendered and ``catalog/progress.js`` re-reads it every few seconds from a
small JSON view (``<pk>/progress/`` on the import run and catalog admins), so staff see it
move without reloading; no front-end framework, one indexed query or two per poll.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from catalog.models import Catalog, ImportRun, SyncBatch, Variant
from catalog.permissions import Action

from .base import admin_page, object_view
from .display import humanize_duration

# Seconds between two polls of a page that shows running work.
POLL_SECONDS = 3
# Finished batches an estimate of the sync's pace is taken from.
PACE_BATCHES = 5


@dataclass
class Progress:
    """What a progress display shows: done of total, the share, an estimate, and whether it still runs."""

    running: bool
    done: int
    total: int | None
    unit: str
    eta: str = ""
    note: str = ""

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))

    def text(self) -> str:
        total = f"{self.total:,}" if self.total is not None else "?"
        text = f"{self.done:,} / {total} {self.unit}"
        if self.percent is not None:
            text = f"{self.percent}% · {text}"
        if self.eta:
            text += f" · about {self.eta} left"
        return f"{text} · {self.note}" if self.note else text

    def as_json(self) -> dict:
        return {**asdict(self), "percent": self.percent, "text": self.text()}


def _eta(done: int, total: int | None, elapsed: timedelta | None) -> str:
    """The time left at the pace so far (empty when there is no pace yet)."""
    if not total or done <= 0 or elapsed is None or done >= total:
        return ""
    return humanize_duration(elapsed * ((total - done) / done))


def import_progress(run: ImportRun) -> Progress:
    """An import's products seen of the shop's total, and the time left at its pace."""
    running = run.state in ImportRun.ACTIVE_STATES
    elapsed = timezone.now() - run.started_at if run.started_at and running else None
    note = "" if running else run.get_state_display().lower()
    return Progress(
        running,
        run.products_seen,
        run.products_total,
        "products",
        _eta(run.products_seen, run.products_total, elapsed),
        note,
    )


def sync_progress(catalog: Catalog) -> Progress:
    """A catalog's variants Meta holds as sent of all it should hold, and the time left at the recent pace.

    Running means something is waiting (PENDING) or in flight; the pace is the recent finished
    batches' items per second.
    """
    counts = Variant.objects.filter(catalog=catalog).status_counts()
    pending = counts.get(Variant.SyncStatus.PENDING, 0)
    total = sum(counts.values())
    done = total - pending
    in_flight = SyncBatch.objects.filter(catalog=catalog).in_flight().exists()
    running = bool(pending) or in_flight
    eta = ""
    if pending and catalog.sync_enabled:
        recent = list(
            SyncBatch.objects.filter(
                catalog=catalog, state=SyncBatch.State.FINISHED, finished_at__isnull=False, sent_at__isnull=False
            )
            .order_by("-pk")
            .values_list("item_count", F("finished_at") - F("sent_at"))[:PACE_BATCHES]
        )
        items = sum(n for n, _ in recent)
        seconds = sum((took or timedelta()).total_seconds() for _, took in recent)
        if items and seconds > 0:
            eta = humanize_duration(timedelta(seconds=pending * seconds / items))
    note = "" if catalog.sync_enabled or catalog.is_read_only else "sync is off"
    if in_flight and not note:
        note = "a batch is with Meta"
    return Progress(running, done, total, "variants sent", eta, note)


def progress_html(progress: Progress, url: str) -> str:
    """A ``<progress>`` bar and its text, polled from ``url`` while the work runs."""
    bar = (
        format_html('<progress max="100" value="{}"></progress> ', progress.percent)
        if progress.percent is not None
        else ""
    )
    if not progress.running:
        return format_html(
            '<span class="galantis-progress">{}<span class="text">{}</span></span>', bar, progress.text()
        )
    return format_html(
        '<span class="galantis-progress" data-progress-url="{}" data-poll-seconds="{}" aria-live="polite">'
        '{}<span class="text">{}</span></span>',
        url,
        POLL_SECONDS,
        bar,
        progress.text(),
    )


class ProgressAdminMixin:
    """Adds ``<pk>/progress/`` (JSON) to a tenant-scoped admin; ``progress_of(obj)`` says what to show."""

    progress_js = "catalog/progress.js"

    def progress_of(self, obj) -> Progress:  # pragma: no cover - each admin defines it
        raise NotImplementedError

    def get_urls(self):
        return [admin_page(self, "<int:pk>/progress/", self.progress_view, "progress")] + super().get_urls()

    @object_view(get=Action.VIEW)
    def progress_view(self, request: HttpRequest, obj) -> JsonResponse:
        """The progress as JSON, for the poller (404 for another tenant's row, as every admin page)."""
        return JsonResponse(self.progress_of(obj).as_json())

    def progress_url(self, obj) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_progress",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
