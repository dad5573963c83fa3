"""Graph API usage and back-off state, shared by every worker through the database."""

from django.db import models


class GraphThrottle(models.Model):
    """How close one rate-limit bucket is to Meta's limit, and until when it is blocked.

    Keyed by ``<throttle key>:<category>`` (e.g. ``catalog:123:batch``) or ``app``;
    not tenant-owned because Meta counts per catalog, business or app, not per tenant.
    """

    key = models.CharField(max_length=200, unique=True)
    # Highest of call_count / total_time / total_cputime Meta reported, in percent.
    usage_pct = models.FloatField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    block_code = models.IntegerField(null=True, blank=True)
    block_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.usage_pct:.0f}%"
