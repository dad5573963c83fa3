"""Settings from the environment: safe development defaults, a production that refuses weak secrets.

Each case starts a fresh interpreter, because settings are read once per process.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SETUP = "import django; django.setup(); from django.conf import settings; print('DEBUG', settings.DEBUG)"
REAL_SECRET_KEY = secrets.token_urlsafe(64)
REAL_CRYPTOGRAPHY_KEY = secrets.token_urlsafe(48)
# Variables these tests set; whatever the calling shell has for them is dropped first.
CONTROLLED = ("DEBUG", "SECRET_KEY", "CRYPTOGRAPHY_KEY", "ALLOWED_HOSTS", "SANDBOX_ENABLED", "DATABASE_URL")


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update(DJANGO_SETTINGS_MODULE="galantis.settings", **env)
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60)


def production(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "False",
        "SECRET_KEY": REAL_SECRET_KEY,
        "CRYPTOGRAPHY_KEY": REAL_CRYPTOGRAPHY_KEY,
        "ALLOWED_HOSTS": "galantis.example.com",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_without_any_variable_debug_is_off_and_the_app_refuses_to_start():
    """Fail-closed: a production that forgot DEBUG=False and its keys does not come up on dev keys."""
    result = run_python("-c", SETUP)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("value", ["", "0", "no", "False"])
def test_debug_is_on_only_when_said_so(value):
    result = run_python("-c", SETUP, **production(DEBUG=value))
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_development_defaults_start_with_debug_on_and_nothing_else():
    result = run_python("-c", SETUP, DEBUG="True")
    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout


def test_the_test_suite_runs_in_development_mode_said_explicitly():
    from django.conf import settings

    assert os.environ["DJANGO_SETTINGS_MODULE"] == "galantis.settings_test"
    assert settings.SANDBOX_ENABLED and settings.SECRET_KEY == "django-insecure-galantis-development-only"


def test_production_with_real_keys_starts():
    result = run_python("-c", SETUP, **production())
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-but-set"}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-galantis-development-only"}, "SECRET_KEY"),
        ({"CRYPTOGRAPHY_KEY": None}, "CRYPTOGRAPHY_KEY"),
        ({"CRYPTOGRAPHY_KEY": "galantis-development-only-field-key"}, "CRYPTOGRAPHY_KEY"),
        ({"CRYPTOGRAPHY_KEY": "too-short"}, "CRYPTOGRAPHY_KEY"),
        ({"CRYPTOGRAPHY_KEY": REAL_SECRET_KEY}, "CRYPTOGRAPHY_KEY must differ"),
    ],
    ids=[
        "no-secret-key",
        "short-secret-key",
        "dev-secret-key",
        "no-field-key",
        "dev-field-key",
        "short-field-key",
        "field-key-is-secret-key",
    ],
)
def test_production_refuses_to_start_without_real_secrets(overrides, complaint):
    result = run_python("-c", SETUP, **production(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_check_deploy_is_clean_in_production():
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_turns_the_sandbox_off():
    code = "import django; django.setup(); from django.conf import settings; print(settings.SANDBOX_ENABLED)"
    assert run_python("-c", code, **production()).stdout.strip() == "False"


def test_field_encryption_uses_its_own_key():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CRYPTOGRAPHY_KEY == settings.SECRET_KEY)"
    )
    assert run_python("-c", code, **production()).stdout.strip() == "False"


NO_SANDBOX = """
import django
django.setup()
from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

assert not apps.is_installed("sandbox") and not apps.is_installed("sandbox.shopify"), "installed"
assert not [m for m in admin.site._registry if m.__module__.startswith("sandbox")], "admin"
try:
    reverse("sandbox:graph")
except NoReverseMatch:
    pass
else:
    raise AssertionError("urls")
print("no sandbox")
"""


@pytest.mark.parametrize(
    "env", [production(), {"DEBUG": "True", "SANDBOX_ENABLED": "False"}], ids=["production", "development"]
)
def test_with_the_sandbox_off_its_apps_admin_and_urls_are_gone(env):
    """The sandbox Shop keeps Shopify tokens in plain text: it must not exist where it is off."""
    result = run_python("-c", NO_SANDBOX, **env)
    assert result.returncode == 0, result.stderr
    assert "no sandbox" in result.stdout


def test_with_the_sandbox_off_migrations_are_consistent():
    """No app of ours depends on the sandbox's migrations: `migrate` plans cleanly without them."""
    result = run_python("manage.py", "migrate", "--plan", **production(DATABASE_URL="sqlite://:memory:"))
    assert result.returncode == 0, result.stderr
    assert "catalog." in result.stdout and "sandbox" not in result.stdout
    check = run_python(
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        DEBUG="True",
        SANDBOX_ENABLED="False",
        DATABASE_URL="sqlite://:memory:",
    )
    assert check.returncode == 0, check.stdout + check.stderr
