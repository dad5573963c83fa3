"""Canary secrets: a whole realistic flow, and no token or secret shows up anywhere it is kept or shown.

The Shopify token, its webhook secret, the Meta token and the Meta app secret are canary
values (shaped like no real token, so no pattern-based redaction can hide them). One flow
over real HTTP against the sandbox: connect a Shopify store (command), import it, paste
the Meta token on the WhatsApp Connection page (and a wrong one), create a catalog, sync,
take a webhook, revoke the token and fail with it. Then everything captured is searched:

- every log record of every logger at DEBUG, as the configured (redacting) handlers write
  it, and the raw records of our own loggers, which must not rely on the redaction;
- the HTML of the merchant and admin pages, the CSV export, command output, exception
  messages;
- every row of our tables (encrypted columns aside), Django-Q2's queued task arguments
  (OrmQ, decoded), Task and Schedule rows, decoded sessions, admin log entries;
- the sandbox's stored data, its webhook delivery log first (the columns where Meta and
  Shopify themselves keep the credentials aside);
- every URL our clients requested: none carries a secret, except the one documented case,
  Meta's ``GET /debug_token?input_token=`` (see catalog/meta/client.py).
"""

from __future__ import annotations

import io
import logging
import secrets
from io import StringIO
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_cryptography.fields import EncryptedMixin

from catalog import tenants
from catalog.models import Catalog, MetaConnection, ShopifyStore, Variant, WebhookEvent
from catalog.shopify import webhooks
from catalog.tests.factories import UserFactory
from galantis.logredact import RedactSecretsFilter

pytestmark = pytest.mark.django_db(transaction=True)


def canary(kind: str) -> str:
    return f"CANARY{kind}{secrets.token_hex(12)}"


SHOPIFY_TOKEN = canary("shoptoken")
WEBHOOK_SECRET = canary("hooksecret")
META_TOKEN = canary("metatoken")
WRONG_META_TOKEN = canary("wrongmeta")
APP_SECRET = canary("appsecret")
CANARIES = {
    "Shopify token": SHOPIFY_TOKEN,
    "webhook secret": WEBHOOK_SECRET,
    "Meta token": META_TOKEN,
    "wrong Meta token": WRONG_META_TOKEN,
    "Meta app secret": APP_SECRET,
}
# Where a credential legitimately lives: Meta's and Shopify's own records of it (the sandbox).
SANDBOX_CREDENTIAL_FIELDS = {
    ("sandbox", "accesstoken", "token"),
    ("sandbox", "sandboxapp", "secret"),
    ("sandbox_shopify", "shop", "access_token"),
    ("sandbox_shopify", "shop", "webhook_secret"),
}
OUR_LOGGERS = ("catalog", "diagnostics", "galantis", "sandbox")


def leaks(text: str) -> list[str]:
    return [name for name, value in CANARIES.items() if value in text]


class Capture(logging.Handler):
    """Keeps each record twice: the raw message, and the line the project's handlers would write."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.raw: list[tuple[str, str]] = []
        self.written = io.StringIO()
        self.redactor = RedactSecretsFilter()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        text = message + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        self.raw.append((record.name, text))
        copy = logging.makeLogRecord(record.__dict__)
        self.redactor.filter(copy)
        self.written.write(self.format(copy) + "\n")


@pytest.fixture
def capture_logs():
    """A handler first on the root logger (and django.server), every logger at DEBUG."""
    handler = Capture()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    tops = [logging.getLogger(), logging.getLogger("django.server")]
    for logger in tops:
        logger.handlers.insert(0, handler)  # before the redacting handler rewrites the record
    yield handler
    for logger in tops:
        logger.removeHandler(handler)
    for logger, level in levels.items():
        logger.setLevel(level)


@pytest.fixture
def record_urls(monkeypatch):
    """Every request our clients (and the sandbox's webhook sender) made: method, URL, headers."""
    sent: list[tuple[str, str, dict]] = []
    original = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        sent.append((request.method, request.url, dict(request.headers)))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return sent


@pytest.fixture
def fast(settings, live_server, tmp_path):
    settings.SITE_URL = live_server.url
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.META_MAX_RETRIES = 0
    settings.META_RETRY_BASE_DELAY = 0
    settings.META_THROTTLE_MAX_DELAY = 0
    settings.SYNC_POLL_DELAYS = [0]
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
    settings.SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = 0
    settings.SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.SHOPIFY_BULK_POLL_SECONDS = 0.02
    settings.SHOPIFY_BACKOFF_SECONDS = 0.01
    return settings


def run_command(name: str, *args, outputs: list[str], errors: list[str], **options) -> None:
    out, err = StringIO(), StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err, **options)
    except Exception as exc:  # a failing step is part of the flow: its message is checked too
        errors.append(f"{type(exc).__name__}: {exc}")
    outputs += [out.getvalue(), err.getvalue()]


def test_no_secret_leaks_anywhere_in_a_whole_flow(fast, tmp_path, capture_logs, record_urls):
    from sandbox.graph_accounts import create_sandbox_business, sandbox_app
    from sandbox.models import AccessToken
    from sandbox.shopify import changes
    from sandbox.shopify.accounts import create_sandbox_shop
    from sandbox.shopify.models import Shop

    outputs: list[str] = []  # command output and page HTML
    errors: list[str] = []  # exception messages

    # -- the outside world: a Shopify shop and a Meta business holding the canary credentials
    shop_credentials = create_sandbox_shop(products=3)
    Shop.objects.filter(domain=shop_credentials["shop_domain"]).update(
        access_token=SHOPIFY_TOKEN, webhook_secret=WEBHOOK_SECRET
    )
    meta = create_sandbox_business(name="Canary Business")
    AccessToken.objects.filter(token=meta["access_token"]).update(token=META_TOKEN)
    app = sandbox_app()
    app.secret = APP_SECRET
    app.save()
    fast.META_APP_ID, fast.META_APP_SECRET = app.fbid, APP_SECRET  # debug_token by app token, appsecret_proof

    tenant = tenants.ensure_tenant("canary", "Canary Shop").tenant
    owner = UserFactory(username="canary-owner", is_staff=False)
    tenants.add_member(tenant, owner, role="owner")
    merchant = Client()
    merchant.force_login(owner)
    admin = Client()
    admin.force_login(UserFactory(username="canary-admin", is_staff=True, is_superuser=True))

    # -- Shopify in: connect (secrets from files), import
    (tmp_path / "token").write_text(SHOPIFY_TOKEN + "\n")
    (tmp_path / "secret").write_text(WEBHOOK_SECRET + "\n")
    run_command(
        "connect_shopify",
        tenant="canary",
        shop=shop_credentials["shop_domain"],
        token_file=str(tmp_path / "token"),
        webhook_secret_file=str(tmp_path / "secret"),
        admin_url=shop_credentials["admin_url"],
        outputs=outputs,
        errors=errors,
    )
    run_command("shopify_import", tenant="canary", outputs=outputs, errors=errors)
    store = ShopifyStore.objects.get(tenant=tenant)
    assert Variant.objects.filter(tenant=tenant).exists(), errors

    # -- Meta: a wrong token first (Meta refuses it), then the right one; create a catalog, sync
    settings_url = "/settings/whatsapp/?tenant=canary"
    refused = merchant.post(
        "/settings/whatsapp/token/?tenant=canary",
        {"business_id": meta["business_id"], "access_token": WRONG_META_TOKEN},
    )
    assert refused.status_code == 400
    outputs.append(refused.content.decode())
    saved = merchant.post(
        "/settings/whatsapp/token/?tenant=canary", {"business_id": meta["business_id"], "access_token": META_TOKEN}
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    created = merchant.post(
        "/settings/whatsapp/catalog/?tenant=canary",
        {"store": store.pk, "flow": "create", "create_name": "Canary catalog"},
    )
    assert created.status_code == 302
    catalog = Catalog.objects.get(tenant=tenant, store=store)
    assert catalog.meta_catalog_id and catalog.sync_enabled
    run_command("sync_catalog", tenant="canary", wait=True, timeout=60, outputs=outputs, errors=errors)
    assert Variant.objects.filter(catalog=catalog, meta_status=Variant.SyncStatus.SYNCED).exists(), errors

    # -- a webhook: a price change in Shopify, delivered signed to /shopify/webhooks/
    product = Shop.objects.get(domain=store.shop_domain).products.filter(status="ACTIVE").first()
    variant = product.variants.first()
    changes.update_variants(product, [{"variant": variant, "price": variant.price + 1}])
    events = list(WebhookEvent.objects.filter(store=store).values_list("pk", flat=True))
    assert events, "the webhook never arrived"
    for pk in events:
        webhooks.process_event(pk)

    # -- the token is revoked: the token check, a sync and the page all fail with Meta's 190
    AccessToken.objects.filter(token=META_TOKEN).update(revoked_at=timezone.now())
    merchant.post("/settings/whatsapp/token/check/?tenant=canary")
    run_command("sync_catalog", tenant="canary", wait=True, timeout=30, outputs=outputs, errors=errors)
    connection = MetaConnection.objects.get(tenant=tenant)
    assert connection.token_status != MetaConnection.TokenStatus.VALID

    # -- what people see: merchant pages, admin pages, the CSV export
    pages = {
        merchant: [
            settings_url,
            "/health/?tenant=canary",
            "/health/items/?tenant=canary&status=ALL",
            f"/health/products/{Variant.objects.filter(catalog=catalog).first().product_id}/?tenant=canary",
        ],
        admin: [
            "/admin/",
            f"/admin/catalog/shopifystore/{store.pk}/change/",
            f"/admin/catalog/metaconnection/{connection.pk}/change/",
            f"/admin/catalog/catalog/{catalog.pk}/change/",
            "/admin/catalog/variant/",
            "/admin/catalog/syncbatch/",
            "/admin/catalog/webhookevent/",
            "/admin/catalog/importrun/",
            "/admin/django_q/ormq/",
            "/admin/django_q/schedule/",
            "/admin/django_q/failure/",
            "/admin/django_q/success/",
            "/admin/diagnostics/cataloghealth/",
            "/admin/admin/logentry/",
        ],
    }
    for client, urls in pages.items():
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 404), (url, response.status_code)  # 404: a page not registered
            outputs.append(f"{url}\n{response.content.decode()}")
    export = merchant.get("/health/items.csv?tenant=canary&status=ALL")
    outputs.append(b"".join(export.streaming_content).decode())

    # -- the searches
    assert not [(n, leaks(t)) for n, t in enumerate(outputs) if leaks(t)], "a page or command output shows a secret"
    assert not [(e, leaks(e)) for e in errors if leaks(e)], "an exception message carries a secret"

    written = capture_logs.written.getvalue()
    assert len(capture_logs.raw) > 50  # the flow logged (client calls, imports, webhooks)
    assert not leaks(written), f"log lines carry {leaks(written)}"
    ours = [(name, text) for name, text in capture_logs.raw if name.split(".")[0] in OUR_LOGGERS]
    assert not [(name, leaks(text)) for name, text in ours if leaks(text)], "our code logs a secret (before redaction)"

    assert not leaks_in_rows(our_models()), "a row of ours holds a secret in clear"
    assert not leaks_in_rows(sandbox_models()), "the sandbox's stored data (webhook log...) holds a secret"
    assert not leaks(queued_tasks()), "a Django-Q2 task carries a secret"

    in_urls = [(method, url) for method, url, _ in record_urls if leaks(url)]
    # Meta takes the token to inspect only as debug_token's input_token (the pasted ones too).
    debug_token_only = [
        (method, url)
        for method, url in in_urls
        if urlsplit(url).path.endswith("/debug_token")
        and dict(parse_qsl(urlsplit(url).query)).get("input_token") in (META_TOKEN, WRONG_META_TOKEN)
        and len(leaks(url)) == 1
    ]
    assert in_urls == debug_token_only, "a secret travelled in a URL"
    assert any(h.get("Authorization") == f"Bearer {META_TOKEN}" for _, _, h in record_urls)
    assert any(h.get("X-Shopify-Access-Token") == SHOPIFY_TOKEN for _, _, h in record_urls)


def our_models() -> list:
    return [m for m in apps.get_models() if m._meta.app_label not in ("sandbox", "sandbox_shopify")]


def sandbox_models() -> list:
    return [m for m in apps.get_models() if m._meta.app_label in ("sandbox", "sandbox_shopify")]


def leaks_in_rows(models: list) -> list[tuple[str, str, list[str]]]:
    """(model, field, which secrets) for every stored value in clear; encrypted columns aside."""
    found = []
    for model in models:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not isinstance(f, EncryptedMixin)
            and (model._meta.app_label, model._meta.model_name, f.name) not in SANDBOX_CREDENTIAL_FIELDS
        ]
        for row in model._base_manager.values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                text = value.decode("utf-8", "replace") if isinstance(value, bytes | memoryview) else repr(value)
                if isinstance(value, memoryview):
                    text = bytes(value).decode("utf-8", "replace")
                if leaks(text):
                    found.append((model._meta.label, field.name, leaks(text)))
    for session in Session.objects.all():
        if leaks(repr(session.get_decoded())):
            found.append(("sessions.Session", "session_data", leaks(repr(session.get_decoded()))))
    return found


def queued_tasks() -> str:
    """The arguments of every queued (OrmQ, signed and compressed) and recorded (Task, Schedule) task."""
    from django_q.models import OrmQ, Schedule, Task

    parts = [repr(q.task) for q in OrmQ.objects.all()]
    parts += [repr((t.func, t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    parts += [repr((s.func, s.args, s.kwargs)) for s in Schedule.objects.all()]
    return "\n".join(parts)
