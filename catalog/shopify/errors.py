"""Typed errors of the Shopify Admin API client.

Callers branch on the class (a revoked token pauses the store, a transient error is
retried later) and show ``str(error)``, a one-line reason fit for an operator.
"""


class ShopifyError(Exception):
    """Base of every Shopify Admin API failure."""

    is_transient = False

    def __init__(self, message: str, *, http_status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code


class ShopifyAuthError(ShopifyError):
    """401: the Admin API access token is wrong, revoked, or the app was uninstalled."""


class ShopifyPermissionError(ShopifyError):
    """403: the token lacks an access scope (read_products, read_inventory, ...)."""


class ShopNotFound(ShopifyError):
    """404: no such shop at this Admin API address (mistyped domain, or the shop is gone)."""


class ShopUnavailable(ShopifyError):
    """402 / 423: the shop is frozen (unpaid) or locked; retry once the merchant fixes it."""


class ShopifyTransientError(ShopifyError):
    """5xx, timeouts and connection failures that outlived the client's retries."""

    is_transient = True


class ShopifyThrottled(ShopifyTransientError):
    """Still THROTTLED after the client's throttle retries (or a query above the bucket size)."""


class ShopifyGraphQLError(ShopifyError):
    """Top-level GraphQL ``errors`` (bad query, unknown field, cost above the single-query limit)."""


class ShopifyUserError(ShopifyError):
    """A mutation answered with ``userErrors``."""

    def __init__(self, message: str, *, user_errors: list[dict] | None = None, code: str = "") -> None:
        super().__init__(message, code=code)
        self.user_errors = user_errors or []


class BulkOperationFailed(ShopifyError):
    """A bulk operation ended FAILED, CANCELED or EXPIRED, or never finished in time."""
