"""All 184 ``ProductItem.ErrorType`` values of the official SDK (``facebook-business==26.0.3``).

Read from the vendored copy of the SDK's enum (``diagnostics/data/error_types.txt``) rather
than kept as a second copy: the list is Meta's own, not Galantis's reading of it, so sharing
it leaves the sandbox an independent imitation of Meta (``sandbox/tests/test_schema.py``
still checks it against the SDK itself).
"""

from diagnostics.sdk_error_types import sdk_error_types

ERROR_TYPES: tuple[str, ...] = tuple(sdk_error_types())
