"""Shopify webhooks, in three modules: receiving (``webhook_reception``), processing
(``webhook_drain``) and what each topic does (``webhook_handlers``). This module names their
public parts for the views, tasks, admin and commands that use them.
"""

from .webhook_drain import (
    MAX_ATTEMPTS,
    claim,
    drain,
    enqueue_processing,
    process_event,
    process_order_events,
    process_product_events,
    reprocess,
    request_drain,
    sweep,
)
from .webhook_handlers import HANDLERS, Ignored
from .webhook_reception import Reception, receive, verify_hmac

__all__ = [
    "HANDLERS",
    "MAX_ATTEMPTS",
    "Ignored",
    "Reception",
    "claim",
    "drain",
    "enqueue_processing",
    "process_event",
    "process_order_events",
    "process_product_events",
    "receive",
    "reprocess",
    "request_drain",
    "sweep",
    "verify_hmac",
]
