"""Queue Django-Q2 tasks only once the surrounding transaction has committed."""

from functools import partial

from django.db import transaction
from django_q.tasks import async_task


def enqueue(func: str, *args: object, group: str | None = None, **kwargs: object) -> None:
    """Queue ``func(*args)`` after the current transaction commits (at once outside one).

    The database row is the truth and the task only a nudge: a lost enqueue delays
    work until the next periodic sweep, it never drops it.
    """
    options = {"group": group} if group else {}
    transaction.on_commit(partial(async_task, func, *args, **options, **kwargs), robust=True)
