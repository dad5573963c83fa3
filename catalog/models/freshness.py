"""Push on change: one row per catalog that coalesces "please push" requests across workers."""

from django.db import models

from .tenancy import TenantOwned


class PushRequest(TenantOwned):
    """The catalog's standing request for a push, and when the last one went.

    Every worker that makes variants PENDING asks through this row (conditional UPDATEs,
    correct on SQLite and PostgreSQL and with any number of workers), so a burst of
    changes queues one task, not one per change: the database is the truth, the task a
    nudge (:mod:`catalog.sync.push_requests`).
    """

    catalog = models.OneToOneField("catalog.Catalog", on_delete=models.CASCADE, related_name="push_request")
    # The oldest change no push has taken yet (None: nothing waits).
    pending_since = models.DateTimeField(null=True, blank=True)
    # The newest request.
    requested_at = models.DateTimeField(null=True, blank=True)
    # A task was queued for the request at this time (None: none queued); a stale one is queued again.
    queued_at = models.DateTimeField(null=True, blank=True)
    # The last requested push, and how many Batch API calls it made (the next keeps its distance).
    last_push_at = models.DateTimeField(null=True, blank=True)
    last_push_calls = models.PositiveSmallIntegerField(default=0)
    # A task following the sent batches to their confirmation was queued at this time.
    confirm_queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push request of catalog {self.catalog_id}"
