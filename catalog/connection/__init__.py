"""Settings → WhatsApp Connection: the Meta token, the three catalog flows, reconciliation and token health.

Modules: ``token_health`` (debug_token, pause/resume), ``catalogs`` (reading catalogs,
commerce and pixel checks), ``reconcile`` (import report, applying it, deleting old
ids), ``flows`` (connecting a token and choosing or switching a catalog), ``daily_check``
(the daily re-check of every connection: token, catalog list, catalog checks).
"""
