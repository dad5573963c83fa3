"""Queueing a task never closes the database connection under the caller."""

import pytest
from django import db
from django_q.models import OrmQ

from catalog.models import Tenant
from catalog.tests.factories import TenantFactory
from galantis.queue import enqueue


@pytest.mark.django_db(transaction=True)
def test_enqueueing_while_streaming_a_queryset_leaves_the_connection_open(monkeypatch, settings):
    # Django-Q2's ORM broker calls django.db.close_old_connections() before writing when in
    # autocommit: with CONN_MAX_AGE 0 that closed the connection under the caller's open
    # cursor. (The in-memory SQLite of the tests never really closes, so the call is watched.)
    closes = []
    monkeypatch.setattr(db, "close_old_connections", lambda **kw: closes.append(kw))
    TenantFactory.create_batch(3)
    for tenant in Tenant.objects.order_by("pk").iterator(chunk_size=1):
        enqueue("catalog.tasks.noop", tenant.pk)
    if "orm" in settings.Q_CLUSTER:
        assert OrmQ.objects.count() == 3
    assert closes == []
