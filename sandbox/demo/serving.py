"""Serve this site on ``SITE_URL`` for the length of a block, unless something answers there already.

The demo drives the product over real HTTP (the Shopify client, webhook deliveries, the
Graph client) to the sandbox at ``SITE_URL``. ``make demo`` runs it before its server starts,
so the site is served here meanwhile, in threads, by the same server class Django's
``runserver`` and test live server use; under a running server (or a test's live server) the
block simply uses that one.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

logger = logging.getLogger(__name__)

# Seconds to wait for something already listening on SITE_URL to accept a connection.
PROBE_TIMEOUT = 1.0


class _QuietHandler(WSGIRequestHandler):
    """Request lines are noise in the demo's output; errors still reach the log."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        logger.debug(format, *args)


def _address() -> tuple[str, int]:
    parts = urlsplit(settings.SITE_URL)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


@contextmanager
def site_served() -> Iterator[None]:
    """Make ``SITE_URL`` answer for the duration of the block (serving it here if nobody does)."""
    host, port = _address()
    if _answers(host, port):
        yield
        return
    server = ThreadedWSGIServer((host, port), _QuietHandler, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
