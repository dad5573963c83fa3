"""Connect the demo tenant to a sandbox Meta business with ``manage.py connect_catalog``.

``make demo`` runs the demo command before the web server starts, but the Graph API
sandbox is served by that very server, so the connection step serves this instance
for a moment on ``SITE_URL`` (or uses the instance already listening there).
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, get_internal_wsgi_application

from catalog.models import Catalog, MetaConnection, ShopifyStore, Tenant

from . import catalogs

logger = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@contextmanager
def serving_this_instance() -> Iterator[None]:
    """Serve this Django instance on ``SITE_URL`` while the block runs (no-op if something listens there)."""
    url = urlsplit(settings.SITE_URL)
    address = (url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80))
    try:
        server = ThreadedWSGIServer(address, _QuietHandler, allow_reuse_address=True)
    except OSError:
        yield  # an instance is already serving SITE_URL (runserver, gunicorn): use it
        return
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def connect_demo_catalog(tenant: Tenant, store: ShopifyStore) -> Catalog:
    """Give the demo store a sandbox Meta business, token, commerce catalog and pixel (idempotent).

    Runs ``connect_catalog --flow import --yes`` on the business's (empty, commerce
    enabled) catalog with the token in a private temporary file, as an operator would;
    every variant is then missing in Meta and pushed by the task cluster. An already
    connected demo store is left as it is.
    """
    from sandbox.graph_accounts import create_sandbox_business  # the demo is a sandbox feature

    current = Catalog.objects.for_tenant(tenant).filter(store=store).exclude(meta_catalog_id="").first()
    connection = MetaConnection.objects.for_tenant(tenant).first()
    if current is not None and connection is not None and connection.token_status == "valid":
        return current
    account = create_sandbox_business(name=f"{tenant.name} (sandbox)")
    handle, path = tempfile.mkstemp(prefix="galantis-token-", text=True)
    try:
        with os.fdopen(handle, "w") as token_file:  # mkstemp: readable by this user only
            token_file.write(account["access_token"])
        with serving_this_instance():
            call_command(
                "connect_catalog", "--tenant", tenant.slug, "--store", store.shop_domain, "--token-file", path,
                "--business-id", account["business_id"], "--flow", "import", "--catalog", account["catalog_id"],
                "--yes", stdout=io.StringIO(),
            )
            catalog = Catalog.objects.for_tenant(tenant).get(store=store)
            catalogs.connect_pixel(catalog, account["pixel_id"])
    finally:
        os.unlink(path)
    logger.info("demo tenant %s connected to sandbox catalog %s", tenant.pk, catalog.meta_catalog_id)
    return catalog
