"""Structured logs: records name the tenant, catalog and task they were written for."""

import json
import logging

import pytest
from django_q.signals import post_execute_in_worker, pre_execute

from catalog.sync import push, writes
from galantis import logcontext


def _record(message="hello") -> logging.LogRecord:
    record = logging.LogRecord("catalog.sync.push", logging.INFO, __file__, 1, message, (), None)
    logcontext.ContextFilter().filter(record)
    return record


@pytest.mark.django_db
def test_a_push_logs_its_tenant_and_catalog(catalog, monkeypatch):
    seen = []

    def blocker(c):  # what the push checks first: log from inside it, then stop
        logging.getLogger("catalog.sync.push").info("checked")
        seen.append(logcontext.current())
        return "off"

    monkeypatch.setattr(writes, "write_blocker", blocker)
    push.push_catalog(catalog)
    assert seen == [{"tenant": catalog.tenant_id, "catalog": catalog.pk}]
    assert logcontext.current() == {}


def test_a_django_q_task_opens_a_scope_that_closes_after_it():
    task = {"name": "alpha-beta", "group": "push:7"}
    pre_execute.send(sender="django_q", func="catalog.tasks.push_catalog", task=task)
    with logcontext.scope(tenant=3, catalog=7):
        record = _record()
    assert record.context == "task=alpha-beta group=push:7 tenant=3 catalog=7"
    post_execute_in_worker.send(sender="django_q", func="catalog.tasks.push_catalog", task=task)
    assert logcontext.current() == {}


def test_json_lines_carry_the_context():
    with logcontext.scope(tenant=3, catalog=7):
        record = _record("pushed 5 items")
    line = json.loads(logcontext.JsonFormatter().format(record))
    assert (line["message"], line["tenant"], line["catalog"], line["level"]) == ("pushed 5 items", 3, 7, "INFO")


def test_outside_any_work_the_context_is_a_dash():
    assert _record().context == "-"
