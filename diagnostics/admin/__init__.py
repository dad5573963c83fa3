"""Admin for the diagnostics app: taxonomy, issues, runs, and the staff sync dashboard."""

from . import dashboard, registry  # noqa: F401  (registers the ModelAdmins)
