"""The Conversions API panel of the merchant health page: sent, failing, why, and the pixel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Catalog, Tenant
from galantis.logredact import redact

from .models import ConversionEvent, ConversionsSettings

State = ConversionEvent.State
WINDOW = timedelta(hours=24)


@dataclass
class PixelState:
    catalog: str
    pixel_id: str
    # True: Meta lists it among the catalog's event sources; False: not (or none entered);
    # None: the catalog's checks have not run yet.
    linked: bool | None


@dataclass
class Panel:
    enabled: bool
    test_event_code: str
    sent_24h: int = 0
    dead: int = 0
    dead_24h: int = 0
    waiting: int = 0
    retrying: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    pixels: list[PixelState] = field(default_factory=list)

    @property
    def any_pixel_linked(self) -> bool:
        return any(p.linked for p in self.pixels)

    @property
    def level(self) -> str:
        """ok / warn / bad, for the badge."""
        if not self.enabled:
            return "warn"
        if self.dead_24h or not any(p.pixel_id for p in self.pixels):
            return "bad"
        if self.retrying or not self.any_pixel_linked or self.test_event_code:
            return "warn"
        return "ok"


def pixel_state(catalog: Catalog) -> PixelState:
    if not catalog.pixel_id:
        return PixelState(catalog.name, "", False)
    if catalog.checks_at is None or catalog.checks_error:
        return PixelState(catalog.name, catalog.pixel_id, None)
    linked = any(str(src.get("id")) == catalog.pixel_id for src in catalog.event_sources or [])
    return PixelState(catalog.name, catalog.pixel_id, linked)


def summarise(
    tenant: Tenant | int,
    catalog: Catalog | None = None,
    *,
    catalogs: list[Catalog] | None = None,
    now: datetime | None = None,
) -> Panel:
    """The panel's numbers for a tenant (or one of its catalogs): three queries, four without ``catalogs``."""
    now = now or timezone.now()
    tenant_id = getattr(tenant, "pk", tenant)
    settings = ConversionsSettings.objects.filter(tenant_id=tenant_id).first()
    panel = Panel(
        enabled=settings.enabled if settings else True, test_event_code=settings.test_event_code if settings else ""
    )
    rows = ConversionEvent.objects.for_tenant(tenant_id)
    if catalogs is None:
        catalogs = list(
            Catalog.objects.for_tenant(tenant_id)
            .only("name", "pixel_id", "event_sources", "checks_at", "checks_error")
            .order_by("name", "pk")
        )
    if catalog is not None:
        rows = rows.filter(catalog=catalog)
        catalogs = [c for c in catalogs if c.pk == catalog.pk]
    since = now - WINDOW
    counts = rows.aggregate(
        sent_24h=Count("pk", filter=Q(state=State.SENT, sent_at__gte=since)),
        dead=Count("pk", filter=Q(state=State.DEAD)),
        dead_24h=Count("pk", filter=Q(state=State.DEAD, updated_at__gte=since)),
        waiting=Count("pk", filter=Q(state__in=(State.QUEUED, State.SENDING))),
        retrying=Count("pk", filter=Q(state=State.QUEUED) & ~Q(last_error="")),
    )
    for name, value in counts.items():
        setattr(panel, name, value or 0)
    last = rows.exclude(last_error="").order_by("-updated_at", "-pk").values("last_error", "updated_at").first()
    if last:
        panel.last_error, panel.last_error_at = redact(last["last_error"]), last["updated_at"]
    panel.pixels = [pixel_state(c) for c in catalogs]
    return panel
