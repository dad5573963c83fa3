"""Meta's onboarding webhook (Facebook Business Extension): learn the catalog, never connect silently.

Meta's first step (docs/meta-ingestion-rules.md, "Onboarding") is to "set up and listen to
the onboarding webhook to fetch the ID for the connected catalog asset", then check whether
we already know that catalog. This module receives that webhook, verifies it, matches it to
a tenant and stores a *pending* onboarding (``MetaOnboarding``); the merchant confirms it on
Settings → WhatsApp Connection, which runs the normal import or link flow
(``flows.choose_catalog``). Pasting a token stays the way a token gets in: a token in the
payload is never stored.

What a delivery looks like (the facts, and where they come from: ``docs/graph-api.md`` §11):
an ordinary Graph API webhook envelope signed in ``X-Hub-Signature-256`` with the app secret,
whose value names the installation's assets (business, catalog, pixel) in one of several
spellings; all of them are read, and the ``object`` and ``field`` names are not relied on.
The sandbox sender (``sandbox/graph/onboarding.py``) emits the shape that page describes.

Matching: a tenant whose Meta connection has the business id, or whose catalog has the catalog
id. No tenant, or more than one, leaves the row *unmatched* (no tenant): stored, visible to
superusers only (admin: Meta catalog → Meta onboardings), never shown to a merchant. We issue no
``fbe_external_business_id`` of our own, so the external id is kept for the operator, not used
to match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog, MetaConnection, MetaOnboarding, ShopifyStore, Tenant

from . import catalogs as catalog_service
from . import flows

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_ID_LENGTH = 64
# Flows a webhook-announced catalog may be connected by: it exists already, so never "create".
FLOWS = (Catalog.Flow.IMPORT, Catalog.Flow.LINK)


@dataclass(frozen=True)
class Reception:
    """The HTTP answer to one delivery."""

    status: int
    message: str
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class Announcement:
    """The ids one change of a delivery carries."""

    entry_id: str
    entry_time: int | None
    field: str
    business_id: str
    external_business_id: str
    catalog_id: str
    pixel_id: str
    page_id: str
    dedup_key: str


def sign(raw_body: bytes, secret: str) -> str:
    """``X-Hub-Signature-256`` for ``raw_body``: ``sha256=`` and the hex HMAC-SHA256 keyed with the app secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """True when ``header_value`` is the body's signature under ``secret`` (constant-time compare)."""
    if not secret or not header_value:
        return False
    expected = sign(raw_body, secret).encode("ascii")
    return hmac.compare_digest(expected, header_value.strip().encode("utf-8", errors="replace"))


def handshake(params: dict[str, str]) -> tuple[int, str]:
    """Meta's subscription check: echo ``hub.challenge`` when mode and verify token are right."""
    token = settings.META_WEBHOOK_VERIFY_TOKEN
    offered = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not token:
        return 403, "Not a subscription request."
    if not hmac.compare_digest(token.encode("utf-8"), offered.encode("utf-8", errors="replace")):
        return 403, "Wrong verify token."
    return 200, params.get("hub.challenge") or ""


def _id(value: Any) -> str:
    """A Graph id as text; anything that is not a plain number is no id."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int) and value >= 0:
        value = str(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= MAX_ID_LENGTH:
        return value
    return ""


def _text(value: Any, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _from_features(value: dict, key: str) -> str:
    for feature in value.get("installed_features") or []:
        assets = feature.get("connected_assets") if isinstance(feature, dict) else None
        if isinstance(assets, dict) and _id(assets.get(key)):
            return _id(assets.get(key))
    return ""


def parse(payload: Any) -> list[Announcement] | None:
    """The announcements of a decoded delivery, or None when it is not a webhook envelope."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return None
    found = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            return None
        entry_id = _id(entry.get("id"))
        entry_time = entry.get("time") if isinstance(entry.get("time"), int) else None
        for change in entry.get("changes", []):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            field = _text(change.get("field"), 64)
            canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
            key_source = f"{entry_id}:{entry_time}:{field}:{hashlib.sha256(canonical.encode()).hexdigest()}"
            found.append(
                Announcement(
                    entry_id=entry_id,
                    entry_time=entry_time,
                    field=field,
                    business_id=_id(value.get("business_manager_id")) or _id(value.get("business_id")),
                    external_business_id=_text(
                        value.get("fbe_external_business_id") or value.get("external_business_id")
                    ),
                    catalog_id=_id(value.get("catalog_id")) or _from_features(value, "catalog_id"),
                    pixel_id=_id(value.get("pixel_id")) or _from_features(value, "pixel_id"),
                    page_id=_id(value.get("page_id")) or _from_features(value, "page_id"),
                    dedup_key=hashlib.sha256(key_source.encode()).hexdigest(),
                )
            )
    return found


def match_tenant(business_id: str, catalog_id: str) -> tuple[Tenant | None, str]:
    """The one tenant that knows this business or catalog, and a note saying how (or why none)."""
    by_business = (
        set(MetaConnection.objects.filter(business_id=business_id).values_list("tenant_id", flat=True))
        if business_id
        else set()
    )
    by_catalog = (
        set(Catalog.objects.filter(meta_catalog_id=catalog_id).values_list("tenant_id", flat=True))
        if catalog_id
        else set()
    )
    tenant_ids = by_business | by_catalog
    if len(tenant_ids) == 1:
        how = "business" if by_business else "catalog"
        return Tenant.objects.get(pk=tenant_ids.pop()), f"Matched by the Meta {how} id."
    if not tenant_ids:
        return None, f"No tenant knows business {business_id or '?'} or catalog {catalog_id or '?'}."
    return None, f"Business {business_id or '?'} / catalog {catalog_id or '?'} are known to {len(tenant_ids)} tenants."


def receive(raw_body: bytes, headers: Any) -> Reception:
    """Verify, parse, match and store one delivery; the same delivery twice stores nothing new.

    Refused (nothing stored): a bad or missing signature, or no app secret configured (403);
    a body that is not JSON or not a webhook envelope (400). A change without a catalog or
    pixel id is ignored with a log line. Every stored row is PENDING: matched ones wait for
    the merchant, unmatched ones (no tenant) for a superuser.
    """
    if not verify_signature(raw_body, headers.get(SIGNATURE_HEADER), settings.META_APP_SECRET):
        logger.warning("onboarding webhook refused: bad or missing %s", SIGNATURE_HEADER)
        return Reception(403, "Bad signature.")
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError):
        return Reception(400, "Body is not JSON.")
    announcements = parse(payload)
    if announcements is None:
        return Reception(400, "Not a webhook envelope (an object with an entry list).")
    body_sha256 = hashlib.sha256(raw_body).hexdigest()
    stored = duplicates = ignored = 0
    for item in announcements:
        if not item.catalog_id and not item.pixel_id:
            ignored += 1
            logger.info(
                "onboarding webhook: change %r of entry %s names no catalog or pixel; ignored",
                item.field,
                item.entry_id,
            )
            continue
        tenant, note = match_tenant(item.business_id, item.catalog_id)
        if _store(item, tenant=tenant, note=note, body_sha256=body_sha256):
            stored += 1
            logger.info(
                "onboarding webhook: catalog %s of business %s stored for tenant %s (%s)",
                item.catalog_id,
                item.business_id,
                tenant.pk if tenant else None,
                note,
            )
        else:
            duplicates += 1
    return Reception(200, "Received.", stored=stored, duplicates=duplicates, ignored=ignored)


def _store(item: Announcement, *, tenant: Tenant | None, note: str, body_sha256: str) -> bool:
    """Insert the row unless this delivery was stored before; True when a row was created."""
    if MetaOnboarding.objects.filter(dedup_key=item.dedup_key).exists():
        return False
    try:
        with transaction.atomic():
            MetaOnboarding.objects.create(
                tenant=tenant,
                business_id=item.business_id,
                external_business_id=item.external_business_id,
                meta_catalog_id=item.catalog_id,
                pixel_id=item.pixel_id,
                page_id=item.page_id,
                entry_id=item.entry_id,
                entry_time=item.entry_time,
                dedup_key=item.dedup_key,
                body_sha256=body_sha256,
                match_note=note[:255],
            )
    except IntegrityError:  # the same delivery, stored by another process a moment ago
        return False
    return True


# -- the merchant's decision ----------------------------------------------------------------------


def pending_for(tenant: Tenant) -> QuerySet[MetaOnboarding]:
    """The tenant's onboardings still waiting for a decision, newest first."""
    return MetaOnboarding.objects.for_tenant(tenant).filter(state=MetaOnboarding.State.PENDING)


def confirm(
    onboarding: MetaOnboarding,
    *,
    store: ShopifyStore | None,
    flow: str = Catalog.Flow.IMPORT,
    user=None,
    confirmed: bool = False,
) -> tuple[Catalog, list[str]]:
    """Run the normal flow for the announced catalog, then mark the onboarding confirmed.

    The flow's own rules apply unchanged (token first, the token must see the catalog,
    replacing the current catalog raises ``flows.ConfirmationRequired`` unless ``confirmed``).
    The announced pixel is then connected as the catalog's event source (import only; a
    failure there is reported, the catalog stays connected). Returns the catalog and notes.
    """
    if onboarding.tenant_id is None or onboarding.state != MetaOnboarding.State.PENDING:
        raise flows.FlowError("This onboarding is no longer waiting for a decision.")
    if flow not in FLOWS:
        raise flows.FlowError("An announced catalog exists already: import it or link it read-only.")
    if not onboarding.meta_catalog_id:
        raise flows.FlowError("Meta announced no catalog here (a pixel only): connect the pixel on the catalog.")
    tenant = onboarding.tenant
    catalog = flows.choose_catalog(
        tenant, store=store, flow=flow, catalog_id=onboarding.meta_catalog_id, user=user, confirmed=confirmed
    )
    MetaOnboarding.objects.filter(pk=onboarding.pk, state=MetaOnboarding.State.PENDING).update(
        state=MetaOnboarding.State.CONFIRMED,
        decided_at=timezone.now(),
        decided_by=user,
        catalog=catalog,
    )
    notes = []
    if onboarding.pixel_id and flow == Catalog.Flow.IMPORT and catalog.pixel_id != onboarding.pixel_id:
        try:
            catalog_service.connect_pixel(catalog, onboarding.pixel_id)
        except (GraphAPIError, catalog_service.ReadOnlyCatalog, ValueError) as exc:
            notes.append(f"Pixel {onboarding.pixel_id} was not connected: {getattr(exc, 'message', exc)}")
        else:
            notes.append(f"Pixel {onboarding.pixel_id} connected as the catalog's event source.")
    logger.info("tenant %s confirmed onboarding %s: catalog %s (%s)", tenant.pk, onboarding.pk, catalog.pk, flow)
    return catalog, notes


def dismiss(onboarding: MetaOnboarding, *, user=None) -> bool:
    """Set a pending onboarding aside; nothing else changes. False when it was decided already."""
    return bool(
        MetaOnboarding.objects.filter(pk=onboarding.pk, state=MetaOnboarding.State.PENDING).update(
            state=MetaOnboarding.State.DISMISSED,
            decided_at=timezone.now(),
            decided_by=user,
        )
    )
