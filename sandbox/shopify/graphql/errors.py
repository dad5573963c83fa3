"""Errors a resolver raises to answer like Shopify (top-level `errors` entries)."""

from graphql import GraphQLError


class UserFacingError(GraphQLError):
    """A request problem reported in the response's `errors` list (HTTP 200), never a 500."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, extensions={"code": code} if code else None)
