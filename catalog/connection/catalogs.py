"""Meta catalogs a token can reach, their commerce settings and pixel (event source) checks."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.utils import timezone
from django.utils.translation import gettext

from catalog.graph_clients import client_for_connection
from catalog.meta.client import GraphClient
from catalog.meta.errors import GraphAPIError
from catalog.models import Catalog
from galantis.logredact import redact

logger = logging.getLogger(__name__)

ONSITE_CHECKOUT = "ONSITE_CHECKOUT"
# Field expansion as in Meta's Shops quality-bar sample (commerce_merchant_settings.fields(id,cta)).
CATALOG_FIELDS = "id,name,product_count,vertical,commerce_merchant_settings{id,cta}"
SINGLE_CATALOG_FIELDS = "id,name,product_count,vertical,commerce_merchant_settings.fields(id,cta)"
EVENT_SOURCE_FIELDS = "id,name,source_type"
# A business rarely owns more than a handful of catalogs; Graph's page size cap is 100.
CATALOG_PAGE_SIZE = 100


class ReadOnlyCatalog(Exception):
    """A write was attempted on a linked (read-only) catalog."""


def ensure_writable(catalog: Catalog) -> None:
    """Refuse any write to Meta for a catalog another tool manages."""
    if catalog.is_read_only:
        raise ReadOnlyCatalog(f"Catalog {catalog.meta_catalog_id} is linked read-only: Galantis never writes to it.")


@dataclass(frozen=True)
class CatalogInfo:
    """What Meta says about one catalog."""

    id: str
    name: str
    product_count: int | None
    cta: str
    commerce_settings_id: str
    vertical: str = ""

    @property
    def has_onsite_checkout(self) -> bool:
        return self.cta == ONSITE_CHECKOUT

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CatalogInfo:
        return cls(
            **{k: data.get(k) for k in ("id", "name", "product_count", "cta", "commerce_settings_id", "vertical")}
        )


def parse_catalog(node: dict) -> CatalogInfo:
    """A Graph catalog node (with expanded commerce_merchant_settings) as a ``CatalogInfo``."""
    settings = node.get("commerce_merchant_settings") or {}
    if isinstance(settings, dict) and isinstance(settings.get("data"), list):  # edge-style expansion
        settings = settings["data"][0] if settings["data"] else {}
    count = node.get("product_count")
    return CatalogInfo(
        id=str(node["id"]),
        name=str(node.get("name") or ""),
        product_count=int(count) if count is not None else None,
        cta=str(settings.get("cta") or ""),
        commerce_settings_id=str(settings.get("id") or ""),
        vertical=str(node.get("vertical") or ""),
    )


def list_catalogs(client: GraphClient, business_id: str) -> list[CatalogInfo]:
    """Every catalog the business owns, with item counts and commerce CTA."""
    nodes = client.paginate(f"{business_id}/owned_product_catalogs", fields=CATALOG_FIELDS, limit=CATALOG_PAGE_SIZE)
    return [parse_catalog(node) for node in nodes]


def fetch_catalog(client: GraphClient, catalog_id: str) -> CatalogInfo:
    """One catalog by id (raises ``GraphAPIError`` when the token can't see it)."""
    return parse_catalog(client.get(str(catalog_id), fields=SINGLE_CATALOG_FIELDS))


def create_catalog(client: GraphClient, business_id: str, name: str) -> str:
    """Create a commerce catalog in the business; return its id."""
    response = client.post(f"{business_id}/owned_product_catalogs", {"name": name, "vertical": "commerce"})
    return str(response["id"])


def list_event_sources(client: GraphClient, catalog_id: str) -> list[dict]:
    """Pixels / apps connected to the catalog as event sources."""
    return [
        {
            "id": str(src.get("id", "")),
            "name": str(src.get("name") or ""),
            "source_type": str(src.get("source_type") or ""),
        }
        for src in client.paginate(f"{catalog_id}/external_event_sources", fields=EVENT_SOURCE_FIELDS)
    ]


def refresh_checks(catalog: Catalog) -> Catalog:
    """Re-read the catalog's commerce settings and event sources from Meta and store them.

    Errors are recorded on the catalog (``checks_error``), never raised: a check that
    can't run is shown as such on the page.
    """
    if catalog.connection is None or not catalog.meta_catalog_id:
        return catalog
    client = client_for_connection(catalog.connection)
    try:
        info = fetch_catalog(client, catalog.meta_catalog_id)
        sources = list_event_sources(client, catalog.meta_catalog_id)
    except GraphAPIError as exc:
        catalog.checks_error = redact(f"Meta answered: {exc.message}")
        catalog.checks_at = timezone.now()
        Catalog.objects.filter(pk=catalog.pk).update(
            checks_error=catalog.checks_error, checks_at=catalog.checks_at, updated_at=timezone.now()
        )
        logger.warning("catalog %s checks failed: code %s", catalog.pk, exc.code)
        return catalog
    catalog.commerce_cta = info.cta
    catalog.commerce_settings_id = info.commerce_settings_id
    catalog.event_sources = sources
    catalog.checks_at = timezone.now()
    catalog.checks_error = ""
    if info.name and not catalog.name:
        catalog.name = info.name
    if catalog.pixel_id and all(src["id"] != catalog.pixel_id for src in sources):
        catalog.pixel_id = ""  # disconnected in Commerce Manager meanwhile
    elif not catalog.pixel_id and sources:
        catalog.pixel_id = sources[0]["id"]
    Catalog.objects.filter(pk=catalog.pk).update(
        commerce_cta=catalog.commerce_cta,
        commerce_settings_id=catalog.commerce_settings_id,
        event_sources=catalog.event_sources,
        checks_at=catalog.checks_at,
        checks_error="",
        name=catalog.name,
        pixel_id=catalog.pixel_id,
        updated_at=timezone.now(),
    )
    return catalog


def connect_pixel(catalog: Catalog, pixel_id: str) -> Catalog:
    """Connect the store's pixel to the catalog as an event source, then re-run the checks."""
    ensure_writable(catalog)
    pixel_id = pixel_id.strip()
    if not pixel_id.isdigit():
        raise ValueError("A pixel id is a number (Events Manager → Data sources).")
    client = client_for_connection(catalog.connection)
    client.post(f"{catalog.meta_catalog_id}/external_event_sources", {"external_event_sources": [pixel_id]})
    Catalog.objects.filter(pk=catalog.pk).update(pixel_id=pixel_id, updated_at=timezone.now())
    catalog.pixel_id = pixel_id
    return refresh_checks(catalog)


@dataclass(frozen=True)
class Check:
    """One pixel/commerce check as the page shows it: passed or not, and the concrete fix."""

    key: str
    title: str
    ok: bool | None  # None: not checked yet / could not check
    detail: str
    fix: str
    # The fix for someone who may only look (no buttons they do not have); empty: same as ``fix``.
    viewer_fix: str = ""

    @property
    def fix_for_viewers(self) -> str:
        return self.viewer_fix or self.fix


def checks_for(catalog: Catalog) -> list[Check]:
    """The pixel (event source) and commerce checkout checks of a catalog, from stored results."""
    pixel_title = gettext("Pixel connected as event source")
    commerce_title = gettext("Commerce checkout on Meta (ONSITE_CHECKOUT)")
    if catalog.checks_at is None or catalog.checks_error:
        reason = catalog.checks_error or gettext("Not checked yet.")
        later = gettext("Galantis checks again daily; an owner can re-check now on this page.")
        press = gettext("Press “Re-check”.")
        return [
            Check("event_source", pixel_title, None, reason, press, later),
            Check("commerce", commerce_title, None, reason, press, later),
        ]
    sources = catalog.event_sources or []
    if sources:
        names = ", ".join(f"{s.get('name') or 'Pixel'} ({s.get('id')})" for s in sources)
        pixel = Check("event_source", pixel_title, True, gettext("Event sources: %(names)s.") % {"names": names}, "")
    else:
        fix = (
            gettext(
                "Ask the tool that manages this catalog to connect your pixel (Commerce Manager → Catalog → "
                "Event sources); Galantis does not write to linked catalogs."
            )
            if catalog.is_read_only
            else gettext(
                "Enter your store's Meta Pixel id below and press “Connect pixel” (or Commerce Manager → "
                "Catalog → Event sources → Connect tracking)."
            )
        )
        pixel = Check(
            "event_source",
            pixel_title,
            False,
            gettext(
                "No pixel or app sends events for this catalog: ads and product ranking can't use your site's signals."
            ),
            fix,
            ""
            if catalog.is_read_only
            else gettext(
                "An owner of the shop can connect the store's Meta Pixel on this page "
                "(or in Commerce Manager → Catalog → Event sources → Connect tracking)."
            ),
        )
    if catalog.has_onsite_checkout:
        commerce = Check(
            "commerce",
            commerce_title,
            True,
            gettext("Commerce settings use onsite checkout (ONSITE_CHECKOUT)."),
            "",
        )
    else:
        if catalog.commerce_cta:
            detail = gettext(
                "The catalog's commerce settings use %(cta)s, not onsite checkout: "
                "buyers can't check out on Facebook or Instagram."
            ) % {"cta": catalog.commerce_cta}
        else:
            detail = gettext(
                "The catalog has no commerce settings with checkout: buyers can't check out on Facebook or Instagram."
            )
        commerce = Check(
            "commerce",
            commerce_title,
            False,
            detail,
            gettext(
                "In Commerce Manager, set up a shop for this catalog with checkout on Facebook and Instagram "
                "(Commerce Manager → Settings → Checkout method → Onsite checkout), then press “Re-check”."
            ),
            gettext(
                "In Commerce Manager, set up a shop for this catalog with checkout on Facebook and Instagram "
                "(Commerce Manager → Settings → Checkout method → Onsite checkout); Galantis sees it at the next "
                "daily check."
            ),
        )
    return [pixel, commerce]
