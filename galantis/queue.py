"""Queue Django-Q2 tasks only once the surrounding transaction has committed."""

from functools import partial

from django.db import transaction
from django_q.tasks import async_task


def _send(func: str, *args: object, **kwargs: object) -> None:
    # Django-Q2's ORM broker calls close_old_connections() before each write when the
    # connection is in autocommit: with CONN_MAX_AGE 0 (SQLite) or past its age, that
    # closed the connection under a caller still reading a queryset iterator (the
    # schedules enqueue while they stream catalogs): "Cannot operate on a closed
    # database" at demo start. Inside atomic() the broker leaves the connection alone.
    with transaction.atomic():
        async_task(func, *args, **kwargs)


def enqueue(func: str, *args: object, group: str | None = None, **kwargs: object) -> None:
    """Queue ``func(*args)`` after the current transaction commits (at once outside one).

    The database row is the truth and the task only a nudge: a lost enqueue delays
    work until the next periodic sweep, it never drops it.
    """
    options = {"group": group} if group else {}
    transaction.on_commit(partial(_send, func, *args, **options, **kwargs), robust=True)
