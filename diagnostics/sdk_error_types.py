"""Meta's ``ProductItem.ErrorType`` values, as the facebook-business SDK lists them.

Vendored in ``data/error_types.txt`` so that nothing needs the SDK at run time
(``diagnostics/tests/test_taxonomy.py`` keeps the file equal to the SDK). The list is Meta's,
not our reading of it: the error taxonomy (``error_catalog``) and the sandbox's Graph API,
which accepts and sends these values, read the same file.
"""

from __future__ import annotations

from pathlib import Path

SDK_ERROR_TYPES_FILE = Path(__file__).resolve().parent / "data" / "error_types.txt"


def sdk_error_types() -> list[str]:
    """Every ``ProductItem.ErrorType`` value of the facebook-business SDK (``data/error_types.txt``), sorted."""
    lines = SDK_ERROR_TYPES_FILE.read_text(encoding="utf-8").splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))
