"""GET /healthz: database, task queue and schedules, without secrets or tenant data."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedules():
    call_command("ensure_schedules", verbosity=0)


def test_a_working_instance_answers_200_with_figures_only(client, schedules, store, catalog):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "queue", "schedules"}
    text = response.content.decode()
    assert store.access_token not in text and store.webhook_secret not in text
    assert store.shop_domain not in text and catalog.tenant.slug not in text


def test_no_cluster_running_shows_as_overdue_schedules(client, schedules):
    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=30))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["schedules"]["overdue"] > 0


def test_no_schedules_at_all_is_failing(client):
    Schedule.objects.all().delete()
    assert client.get("/healthz").status_code == 503


def test_only_get(client, schedules):
    assert client.post("/healthz").status_code == 405
