"""Structured logs: every record carries the tenant, catalog and task it was written for.

A context variable holds ``{"tenant": .., "catalog": .., "task": ..}`` for the work in
progress; :class:`ContextFilter` copies it onto each record (``%(context)s`` in the plain
format, keys of their own in the JSON one). Django-Q2's ``pre_execute`` / ``post_execute_in_worker``
signals open and close a scope per task (its name and group, e.g. ``push:12``); the
service functions that work on one catalog add the tenant and catalog with
:func:`for_catalog`. ``LOG_FORMAT=json`` writes one JSON object per line.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

_context: ContextVar[dict[str, Any]] = ContextVar("galantis_log_context", default={})  # noqa: B039 (never mutated)
_task_token: Token | None = None


@contextlib.contextmanager
def scope(**values: Any) -> Iterator[None]:
    """Add ``values`` (None ones skipped) to every record logged inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def for_catalog(func: Callable) -> Callable:
    """Decorate a service function whose first argument is a catalog: its logs name tenant and catalog."""

    @functools.wraps(func)
    def wrapper(catalog, *args, **kwargs):
        with scope(tenant=getattr(catalog, "tenant_id", None), catalog=getattr(catalog, "pk", None)):
            return func(catalog, *args, **kwargs)

    return wrapper


def current() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Puts the current context on the record: ``record.context`` ("tenant=3 catalog=7") and each key."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = _context.get()
        record.context = " ".join(f"{key}={value}" for key, value in values.items()) or "-"
        record.log_context = values
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context's keys, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "log_context", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _task_started(sender=None, func=None, task=None, **kwargs) -> None:
    global _task_token
    task = task or {}
    _task_token = _context.set({"task": str(task.get("name") or func or ""), "group": task.get("group")})


def _task_finished(sender=None, task=None, **kwargs) -> None:
    global _task_token
    if _task_token is not None:
        _context.reset(_task_token)
        _task_token = None


def connect_task_signals() -> None:
    """Open a log scope around every Django-Q2 task (called once, from an AppConfig.ready)."""
    # Both are sent in the worker process that runs the task (``post_execute`` is the
    # monitor's, in another process: the scope would never close where it was opened).
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(_task_started, dispatch_uid="galantis.logcontext.pre")
    post_execute_in_worker.connect(_task_finished, dispatch_uid="galantis.logcontext.post")
