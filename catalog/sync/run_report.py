"""What one run of a sync task did on one catalog, and the dict it is reported as.

Every sync task (push, confirm, feeds, product sets, the drift scan, ``sync_catalog``)
returns such a dict to Django-Q2 and prints it with ``--json``; scripts read it, so its
keys are the report's fields in order, with the two short names below.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# The dict's names for two fields: what the task results and the commands' JSON have always said.
REPORT_KEYS = {"catalog_id": "catalog", "skipped_reason": "skipped"}
# dataclasses.field(metadata=NOT_REPORTED): a field the run keeps for itself, out of the dict.
NOT_REPORTED = {"reported": False}


@dataclass
class CatalogRunReport:
    """Base of the report of one run on one catalog; subclasses add their counters."""

    catalog_id: int

    def as_dict(self) -> dict:
        """The report as its task returns it: each reported field, in order."""
        return {
            REPORT_KEYS.get(f.name, f.name): getattr(self, f.name)
            for f in fields(self)
            if f.metadata.get("reported", True)
        }
