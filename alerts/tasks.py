"""Django-Q2 entry point of the alerts (thin: the logic is in ``alerts.digest`` and ``alerts.mail``)."""

from __future__ import annotations

from . import digest, mail


def run_digests() -> dict:
    """The schedule: build each tenant's digest, then send every digest waiting to go (new and retried)."""
    built = digest.build_all()
    sent, failed = mail.send_pending()
    return {"built": built, "sent": sent, "failed": failed}
