"""The base of every refusal a service states in the user's words.

Services (tenants, sync runs, connection flows) raise a subclass; they never know who
called them. Management commands turn it into a one-line ``CommandError``
(:class:`catalog.management.base.ServiceCommand`), views into a message or a 4xx.
"""


class DomainError(Exception):
    """A service refused: the message says why, in words the person who asked can act on."""
