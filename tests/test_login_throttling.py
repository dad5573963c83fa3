"""Login throttling (django-axes): repeated failed logins lock further attempts, the right password too."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


@pytest.fixture
def operator(db):
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(client: Client, password: str, username: str = "operator", ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def test_failed_logins_up_to_the_limit_lock_further_attempts_even_the_right_password(operator):
    client = Client()
    for _ in range(2):
        assert attempt(client, "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, "wrong").status_code == 429  # the third failure locks
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "locked" in locked.content.decode().lower()


def test_the_lock_is_for_that_username_from_that_address(operator):
    client = Client()
    for _ in range(3):
        attempt(client, "wrong")
    assert attempt(Client(), PASSWORD, ip="198.51.100.9").status_code == 302  # same user, elsewhere


def test_a_successful_login_before_the_limit_resets_the_count(operator):
    client = Client()
    for _ in range(2):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


def test_the_project_settings_throttle_every_login():
    """Only the test settings turn axes off (the test client's login() passes no request)."""
    from galantis import settings as project

    assert getattr(project, "AXES_ENABLED", True) is True
    assert project.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert project.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
