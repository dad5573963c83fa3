"""Connecting a token and choosing, creating or switching the catalog (the three flows).

Meta is always asked first, outside any transaction; only a verified answer is then
saved, in one short transaction. A bad token, a catalog the token can't see or a
Meta outage leave everything as it was (the old working token included).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog import item_state
from catalog.domain_errors import DomainError
from catalog.graph_clients import business_key, client_for_connection
from catalog.meta.client import GraphClient
from catalog.meta.errors import AuthError, GraphAPIError, PermissionDenied, RateLimited, TransientError
from catalog.models import Catalog, MetaConnection, ReconciliationReport, ShopifyStore, SyncBatch, Tenant, Variant
from catalog.sync.claim import release
from catalog.sync.push_requests import request_push
from galantis.logredact import redact

from . import catalogs as catalog_service
from . import reconcile, token_health
from .catalogs import CatalogInfo

logger = logging.getLogger(__name__)

Flow = Catalog.Flow
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-|.=+/]{20,1000}$")
MAX_CATALOG_NAME = 200


class FlowError(DomainError):
    """A user-facing, one-line reason an action was refused; nothing was changed."""


@dataclass(frozen=True)
class SwitchPlan:
    """What choosing a catalog will do, shown for confirmation before anything changes."""

    flow: str
    target_id: str  # blank when a new catalog is to be created
    target_name: str
    current: Catalog | None
    variants: int
    pending: int
    in_flight: int

    @property
    def needs_confirmation(self) -> bool:
        """Replacing a catalog or changing how it is used is never implicit."""
        if self.current is None or not self.current.meta_catalog_id:
            return False  # nothing connected yet: nothing to lose
        return self.current.meta_catalog_id != self.target_id or self.current.flow != self.flow

    def consequences(self) -> list[str]:
        lines = []
        current = self.current
        if current is not None and current.meta_catalog_id != self.target_id:
            lines.append(
                gettext("Galantis stops syncing “%(name)s” (%(catalog_id)s); its items stay in Meta untouched.")
                % {"name": current.name, "catalog_id": current.meta_catalog_id}
            )
            if self.in_flight:
                lines.append(
                    ngettext(
                        "%(count)s batch in flight to the old catalog is abandoned (not confirmed).",
                        "%(count)s batches in flight to the old catalog are abandoned (not confirmed).",
                        self.in_flight,
                    )
                    % {"count": self.in_flight}
                )
            lines.append(
                ngettext(
                    "%(variants)s variant is attached to the new catalog and set to PENDING "
                    "(%(pending)s pending already; none is lost).",
                    "All %(variants)s variants are attached to the new catalog and set to PENDING "
                    "(%(pending)s were pending already; none is lost).",
                    self.variants,
                )
                % {"variants": self.variants, "pending": self.pending}
            )
        elif current is not None:
            lines.append(
                gettext("The catalog stays the same; its use changes from “%(old)s” to “%(new)s”.")
                % {"old": current.get_flow_display(), "new": Flow(self.flow).label}
            )
        if self.flow == Flow.IMPORT:
            lines.append(
                gettext(
                    "The catalog is read and compared with your Shopify variants; you review the report "
                    "before anything in Meta is overwritten."
                )
            )
        elif self.flow == Flow.CREATE:
            lines.append(
                gettext(
                    "A new commerce catalog is created in your Meta business and every eligible variant is pushed "
                    "to it."
                )
            )
        else:
            lines.append(
                gettext(
                    "The catalog is read and mapped to your variants for product messages; Galantis never writes to it."
                )
            )
        return lines


# -- token ---------------------------------------------------------------------------------------


# Why a Graph API call of each action failed, as whole sentences (translators get no fragments):
# (unreachable or rate limited, token rejected, permission missing, refused). Placeholders:
# %(business)s for list_business_catalogs, %(meta)s for Meta's (redacted) message.
_FAILURES = {
    "list_business_catalogs": (
        _(
            "Meta could not be reached to list the catalogs of business %(business)s; nothing was changed. "
            "Try again in a few minutes."
        ),
        _("Meta rejected the token while trying to list the catalogs of business %(business)s."),
        _("The token is not allowed to list the catalogs of business %(business)s (Meta: %(meta)s)."),
        _("Meta refused to list the catalogs of business %(business)s: %(meta)s"),
    ),
    "list_catalogs": (
        _("Meta could not be reached to list your catalogs; nothing was changed. Try again in a few minutes."),
        _("Meta rejected the token while trying to list your catalogs."),
        _("The token is not allowed to list your catalogs (Meta: %(meta)s)."),
        _("Meta refused to list your catalogs: %(meta)s"),
    ),
    "create_catalog": (
        _(
            "Meta could not be reached to create a catalog in your business; nothing was changed. "
            "Try again in a few minutes."
        ),
        _("Meta rejected the token while trying to create a catalog in your business."),
        _("The token is not allowed to create a catalog in your business (Meta: %(meta)s)."),
        _("Meta refused to create a catalog in your business: %(meta)s"),
    ),
    "read_catalog": (
        _("Meta could not be reached to read the catalog; nothing was changed. Try again in a few minutes."),
        _("Meta rejected the token while trying to read the catalog."),
        _("The token is not allowed to read the catalog (Meta: %(meta)s)."),
        _("Meta refused to read the catalog: %(meta)s"),
    ),
    "connect_pixel": (
        _("Meta could not be reached to connect the pixel; nothing was changed. Try again in a few minutes."),
        _("Meta rejected the token while trying to connect the pixel."),
        _("The token is not allowed to connect the pixel (Meta: %(meta)s)."),
        _("Meta refused to connect the pixel: %(meta)s"),
    ),
}


def _graph_failure(exc: GraphAPIError, action: str, **values: str) -> FlowError:
    """The merchant's reason ``action`` (a key of ``_FAILURES``) failed with ``exc``."""
    unreachable, auth, permission, refused = _FAILURES[action]
    values = {**values, "meta": redact(exc.message)}
    if isinstance(exc, (TransientError, RateLimited)):
        return FlowError(str(unreachable) % values)
    if isinstance(exc, AuthError):
        return FlowError(str(auth) % values)
    if isinstance(exc, PermissionDenied):
        return FlowError(str(permission) % values)
    return FlowError(str(refused) % values)


def connect_token(tenant: Tenant, *, token: str, business_id: str = "") -> MetaConnection:
    """Verify a pasted token (debug_token and the business's catalogs) and store it encrypted.

    Refused with ``FlowError`` (the stored token untouched) when the token is malformed,
    expired, revoked, lacks ``catalog_management``, can't reach the business, or can't
    reach the catalog Galantis syncs now.
    """
    token = (token or "").strip()
    if not _TOKEN_SHAPE.match(token):
        raise FlowError(gettext("That does not look like a Meta access token (truncated or pasted with spaces?)."))
    existing = MetaConnection.objects.for_tenant(tenant).first()
    business_id = (business_id or "").strip() or (existing.business_id if existing else "")
    try:
        check = token_health.inspect_token(token)
    except token_health.MetaUnavailable as exc:
        raise FlowError(gettext("%(reason)s Nothing was changed.") % {"reason": exc}) from exc
    if check.blocks_sync:
        raise FlowError(gettext("%(reason)s The token was not saved.") % {"reason": check.message})
    if not business_id:
        granted = check.target_ids("business_management")
        if len(granted) != 1:
            raise FlowError(gettext("Enter your Meta business id (Business settings → Business info)."))
        business_id = granted[0]
    if not business_id.isdigit():
        raise FlowError(gettext("A Meta business id is a number (Business settings → Business info)."))
    # The business's own budget, the one its stored connection and its catalogs' clients spend
    # (graph_clients.business_key; the connection is not saved yet).
    client = GraphClient(token, throttle_key=business_key(MetaConnection(business_id=business_id)))
    try:
        found = catalog_service.list_catalogs(client, business_id)
    except GraphAPIError as exc:
        raise _graph_failure(exc, "list_business_catalogs", business=business_id) from exc
    current = Catalog.objects.for_tenant(tenant).filter(store__isnull=False).exclude(meta_catalog_id="")
    for catalog in current:
        if any(info.id == catalog.meta_catalog_id for info in found):
            continue
        try:
            catalog_service.fetch_catalog(client, catalog.meta_catalog_id)
        except GraphAPIError as exc:
            raise FlowError(
                gettext(
                    "This token can't reach catalog “%(name)s” (%(catalog_id)s) that Galantis syncs "
                    "(a token of another business?). The token was not saved."
                )
                % {"name": catalog.name, "catalog_id": catalog.meta_catalog_id}
            ) from exc
    with transaction.atomic():
        connection = MetaConnection.objects.select_for_update().filter(tenant=tenant).first()
        if connection is None:
            connection = MetaConnection(tenant=tenant)
        connection.set_token(token)
        connection.business_id = business_id
        token_health.apply_check_fields(connection, check)
        connection.available_catalogs = [info.as_dict() for info in found]
        connection.catalogs_fetched_at = timezone.now()
        connection.save()
        token_health.resume_catalogs(connection)
    logger.info("tenant %s saved a Meta token (%s, %s catalogs)", tenant.pk, check.status, len(found))
    # The page shows the connected catalogs' pixel and checkout checks at once, not "not checked yet".
    for catalog in current.select_related("connection"):
        catalog_service.refresh_checks(catalog)
    return connection


def refresh_catalog_list(connection: MetaConnection) -> list[CatalogInfo]:
    """Re-list the business's catalogs with the stored token and keep the snapshot."""
    client = client_for_connection(connection)
    try:
        found = catalog_service.list_catalogs(client, connection.business_id)
    except GraphAPIError as exc:
        raise _graph_failure(exc, "list_catalogs") from exc
    MetaConnection.objects.filter(pk=connection.pk).update(
        available_catalogs=[info.as_dict() for info in found], catalogs_fetched_at=timezone.now()
    )
    connection.refresh_from_db()
    return found


def require_connection(tenant: Tenant) -> MetaConnection:
    """The tenant's connection with a usable token, or ``FlowError``."""
    connection = MetaConnection.objects.for_tenant(tenant).first()
    if connection is None or not connection.token_last4:
        raise FlowError(gettext("Connect a Meta catalog token first."))
    if connection.token_status in MetaConnection.BLOCKING_STATUSES:
        raise FlowError(
            gettext("The Meta token is %(status)s: paste a new one first.")
            % {"status": connection.get_token_status_display().lower()}
        )
    return connection


# -- choosing a catalog ---------------------------------------------------------------------------


def current_catalog(store: ShopifyStore, tenant: Tenant) -> Catalog | None:
    """The catalog ``store`` is connected to now, if any."""
    return Catalog.objects.for_tenant(tenant).filter(store=store).first()


def plan_switch(
    tenant: Tenant, *, store: ShopifyStore, flow: str, target_id: str = "", target_name: str = ""
) -> SwitchPlan:
    """Describe what choosing ``target_id`` with ``flow`` would do (no Meta call, no change)."""
    if flow not in Flow.values:
        raise FlowError(f"Unknown flow {flow!r}: choose import, create or link.")
    current = current_catalog(store, tenant)
    variants = Variant.objects.for_tenant(tenant).filter(product__store=store)
    in_flight = 0
    if current is not None:
        in_flight = SyncBatch.objects.for_tenant(tenant).filter(catalog=current).in_flight().count()
    return SwitchPlan(
        flow=flow,
        target_id=target_id,
        target_name=target_name,
        current=current,
        variants=variants.count(),
        pending=variants.filter(meta_status=Variant.SyncStatus.PENDING).count(),
        in_flight=in_flight,
    )


class ConfirmationRequired(FlowError):
    """The change replaces or repurposes the current catalog; ask first."""

    def __init__(self, plan: SwitchPlan):
        super().__init__("Confirm the change first.")
        self.plan = plan


def choose_catalog(
    tenant: Tenant,
    *,
    store: ShopifyStore | None,
    flow: str,
    catalog_id: str = "",
    create_name: str = "",
    user=None,
    confirmed: bool = False,
    queue: bool = True,
) -> Catalog:
    """Connect the store to a catalog by one of the three flows.

    ``import`` and ``link`` take an existing ``catalog_id`` the token can see;
    ``create`` makes a new commerce catalog named ``create_name``. Replacing or
    repurposing the current catalog raises ``ConfirmationRequired`` unless ``confirmed``.
    Import and link queue reading the catalog (``queue=False``: the caller reads it);
    create queues a push.
    """
    connection = require_connection(tenant)
    if store is None:
        raise FlowError(gettext("Connect a Shopify store first: a catalog is filled from the store's products."))
    if store.tenant_id != tenant.pk:
        raise FlowError(gettext("That store belongs to another tenant."))
    client = client_for_connection(connection)
    if flow == Flow.CREATE:
        create_name = (create_name or "").strip()[:MAX_CATALOG_NAME] or _default_name(tenant, store)
        plan = plan_switch(tenant, store=store, flow=flow, target_name=create_name)
        if plan.needs_confirmation and not confirmed:
            raise ConfirmationRequired(plan)
        try:
            new_id = catalog_service.create_catalog(client, connection.business_id, create_name)
        except GraphAPIError as exc:
            raise _graph_failure(exc, "create_catalog") from exc
        info = CatalogInfo(
            id=new_id, name=create_name, product_count=0, cta="", commerce_settings_id="", vertical="commerce"
        )
    else:
        catalog_id = str(catalog_id or "").strip()
        if not catalog_id.isdigit():
            raise FlowError(gettext("Choose a catalog (its id is a number)."))
        # The token must see the catalog before anything is said about who else uses it.
        try:
            info = catalog_service.fetch_catalog(client, catalog_id)
        except GraphAPIError as exc:
            if isinstance(exc, (TransientError, RateLimited)):
                raise _graph_failure(exc, "read_catalog") from exc
            raise FlowError(
                gettext("This token can't see catalog %(catalog_id)s; choose one from the list.")
                % {"catalog_id": catalog_id}
            ) from exc
        _refuse_foreign(tenant, catalog_id)
        plan = plan_switch(tenant, store=store, flow=flow, target_id=info.id, target_name=info.name)
        if plan.needs_confirmation and not confirmed:
            raise ConfirmationRequired(plan)
    catalog = _attach(tenant, store, connection, info, flow)
    if flow in (Flow.IMPORT, Flow.LINK):
        reconcile.start_report(catalog, purpose=flow, user=user, queue=queue)
    else:
        # The list the page offers must show the catalog just created, not the one read before.
        try:
            refresh_catalog_list(connection)
        except FlowError as exc:
            logger.warning("tenant %s: catalog list not re-read after create: %s", tenant.pk, exc)
    catalog_service.refresh_checks(catalog)
    return catalog


def _default_name(tenant: Tenant, store: ShopifyStore) -> str:
    return f"{store.name or store.shop_domain} (Galantis)"


def _refuse_foreign(tenant: Tenant, catalog_id: str) -> None:
    if Catalog.objects.filter(meta_catalog_id=catalog_id).exclude(tenant=tenant).exists():
        raise FlowError(
            gettext("Catalog %(catalog_id)s is connected to another Galantis account.") % {"catalog_id": catalog_id}
        )


@transaction.atomic(durable=True)
def _attach(tenant: Tenant, store: ShopifyStore, connection: MetaConnection, info: CatalogInfo, flow: str) -> Catalog:
    """Point the store at ``info`` with ``flow`` in one transaction: no half-switched state."""
    store = ShopifyStore.objects.select_for_update().get(pk=store.pk)
    _refuse_foreign(tenant, info.id)
    now = timezone.now()
    old = current_catalog(store, tenant)
    target = Catalog.objects.for_tenant(tenant).filter(meta_catalog_id=info.id).first()
    if target is not None and target.store_id and target.store_id != store.pk:
        raise FlowError(
            gettext("Catalog %(catalog_id)s is already used by store %(store)s.")
            % {"catalog_id": info.id, "store": target.store}
        )
    placeholder = old is not None and not old.meta_catalog_id  # never connected to Meta: nothing to retire
    if target is None and placeholder:
        target = old
    elif old is not None and (target is None or old.pk != target.pk):
        _retire(old, replaced_by=info, now=now)
    if target is None:
        target = Catalog(tenant=tenant, meta_catalog_id=info.id)
    target.meta_catalog_id = info.id
    catalog_changed = old is None or old.pk != target.pk or placeholder
    target.store = store
    target.connection = connection
    target.name = info.name or target.name or info.id
    target.flow = flow
    target.commerce_cta = info.cta
    target.commerce_settings_id = info.commerce_settings_id
    # Create pushes at once; import waits for the merchant's go on the report; link never writes.
    target.sync_enabled = flow == Flow.CREATE
    # A new choice starts unpaused (the token was just verified); pending work is kept.
    target.paused_reason = ""
    target.pause_kind = Catalog.PauseKind.NONE
    target.paused_at = target.paused_until = None
    target.save()
    if flow != Flow.IMPORT or catalog_changed:
        ReconciliationReport.objects.for_tenant(tenant).filter(
            catalog=target, state__in=[ReconciliationReport.State.RUNNING, ReconciliationReport.State.READY]
        ).update(state=ReconciliationReport.State.SUPERSEDED, finished_at=now)
    if catalog_changed or flow == Flow.CREATE:
        _reset_variants(tenant, store, target, now)
    if flow == Flow.CREATE:
        request_push(target.pk, now=True)
    logger.info("tenant %s: store %s now uses catalog %s (%s)", tenant.pk, store.pk, target.pk, flow)
    return target


def _retire(old: Catalog, *, replaced_by: CatalogInfo, now) -> None:
    """Detach the old catalog: stop syncing it and abandon its in-flight batches (their variants move on)."""
    for batch in SyncBatch.objects.filter(catalog=old, state__in=SyncBatch.IN_FLIGHT_STATES):
        release(
            batch, state=SyncBatch.State.FAILED, message=f"Abandoned: the store switched to catalog {replaced_by.id}."
        )
    ReconciliationReport.objects.filter(
        catalog=old, state__in=[ReconciliationReport.State.RUNNING, ReconciliationReport.State.READY]
    ).update(state=ReconciliationReport.State.SUPERSEDED, finished_at=now)
    Catalog.objects.filter(pk=old.pk).update(
        store=None,
        sync_enabled=False,
        pause_kind=Catalog.PauseKind.MANUAL,
        paused_at=now,
        paused_until=None,
        paused_reason=f"Replaced by catalog “{replaced_by.name}” ({replaced_by.id}) on {now:%Y-%m-%d}.",
        updated_at=now,
    )


def _reset_variants(tenant: Tenant, store: ShopifyStore, catalog: Catalog, now) -> int:
    """Attach every variant of the store to ``catalog`` as PENDING (local validation failures stay FAILED)."""
    variants = Variant.objects.for_tenant(tenant).filter(product__store=store)
    # previous_id belonged to the old catalog's items; dropping it changes those payloads.
    had_previous_id = list(variants.exclude(previous_id="").values_list("pk", flat=True))
    changed = item_state.attach_to_catalog(variants, catalog.pk, now=now)
    for start in range(0, len(had_previous_id), item_state.REFRESH_BATCH):
        chunk = had_previous_id[start : start + item_state.REFRESH_BATCH]
        Variant.objects.filter(pk__in=chunk).update(payload_hash="")
        item_state.refresh_variants(Variant.objects.filter(pk__in=chunk))
    return changed
