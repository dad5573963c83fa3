"""Django-Q2 entry points of the Conversions API (thin: the logic is in ``conversions.send``)."""

from __future__ import annotations

from . import send


def send_catalog_events(catalog_id: int) -> int:
    """Send the catalog's due Purchase events; return how many Meta accepted."""
    return send.send_catalog_events(catalog_id).sent


def send_due_events() -> int:
    """The one-minute schedule: queue a send per catalog with due events; return how many catalogs."""
    return send.queue_due_sends()


def purge_expired_events() -> int:
    """The hourly schedule: clear personal data of events Meta can no longer take."""
    return send.purge_expired()
