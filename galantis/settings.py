"""Django settings for Galantis, read from the environment with django-environ.

Every setting has a development default so `make demo` and `make test` work on a
fresh clone. DEBUG is off unless the environment turns it on (`make demo`, the test
settings and a developer's .env do), and with DEBUG off the app refuses to start without
real secrets: a production that forgot a variable fails closed.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is optional; real environment variables always win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Fail-closed: off unless explicitly on (`make demo`, galantis/settings_test.py, a .env).
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-galantis-development-only"
_DEV_CRYPTOGRAPHY_KEY = "galantis-development-only-field-key"

SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
# Field encryption key: separate from SECRET_KEY so SECRET_KEY can rotate without
# losing every stored token (values written since galantis/fieldcrypto.py do not depend on
# SECRET_KEY at all; older ones until rotate_cryptography_key rewrites them).
CRYPTOGRAPHY_KEY = env.str("CRYPTOGRAPHY_KEY", default=_DEV_CRYPTOGRAPHY_KEY if DEBUG else "")
# Keys the encrypted fields were written with before CRYPTOGRAPHY_KEY, comma-separated: read,
# never written. `manage.py rotate_cryptography_key` rewrites every value under the current
# key, after which they can go (galantis/fieldcrypto.py).
CRYPTOGRAPHY_OLD_KEYS = env.list("CRYPTOGRAPHY_OLD_KEYS", default=[])

if not DEBUG:
    # Refuse to start rather than run production on a guessable key.
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DEBUG is off: set SECRET_KEY to a random value of at least 50 characters (or DEBUG=True for development)."
        )
    if not CRYPTOGRAPHY_KEY or CRYPTOGRAPHY_KEY == _DEV_CRYPTOGRAPHY_KEY or len(CRYPTOGRAPHY_KEY) < 32:
        raise ImproperlyConfigured(
            "DEBUG is off: set CRYPTOGRAPHY_KEY (the field-encryption key) to a random value of at least 32 characters."
        )
    if CRYPTOGRAPHY_KEY == SECRET_KEY:
        raise ImproperlyConfigured("CRYPTOGRAPHY_KEY must differ from SECRET_KEY.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base URL of this instance; the sandbox builds its URLs from it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Graph API base without version (like facebook_business.session.FacebookSession.GRAPH);
# the default is the built-in sandbox served by this same instance.
META_GRAPH_URL = env.str("META_GRAPH_URL", default=f"{SITE_URL}/sandbox/graph").rstrip("/")
META_API_VERSION = env.str("META_API_VERSION", default="v26.0")
# Optional app credentials: appsecret_proof on every call, and an app token for debug_token.
META_APP_ID = env.str("META_APP_ID", default="")
META_APP_SECRET = env.str("META_APP_SECRET", default="")
# Meta's webhooks (the onboarding webhook, /meta/webhooks/onboarding/): deliveries are signed with
# META_APP_SECRET (none set: every delivery is refused); the verify token is what we answer Meta's
# subscription handshake with (none set: the handshake is refused); bodies above the limit get 413.
META_WEBHOOK_VERIFY_TOKEN = env.str("META_WEBHOOK_VERIFY_TOKEN", default="")
META_WEBHOOK_MAX_BYTES = env.int("META_WEBHOOK_MAX_BYTES", default=1_048_576)
# Graph client: per-call timeout (s), retries for transient errors / short rate limits,
# exponential back-off with full jitter between them (base and cap, seconds).
META_TIMEOUT = env.float("META_TIMEOUT", default=60.0)
META_MAX_RETRIES = env.int("META_MAX_RETRIES", default=3)
# items_batch calls carry their parameters as a JSON body (the Graph API takes
# application/json); False sends them form-encoded like the facebook-business SDK.
META_POST_JSON = env.bool("META_POST_JSON", default=True)
META_RETRY_BASE_DELAY = env.float("META_RETRY_BASE_DELAY", default=1.0)
META_RETRY_MAX_DELAY = env.float("META_RETRY_MAX_DELAY", default=30.0)
# A wait longer than this is not slept in a worker: the call raises RateLimited and the
# sync engine reschedules the catalog instead.
META_MAX_INLINE_WAIT = env.float("META_MAX_INLINE_WAIT", default=30.0)
# Throttle from X-App-Usage / X-Business-Use-Case-Usage: slow down from SLOW_PCT (up to
# MAX_DELAY seconds per call), stop for COOLDOWN seconds at STOP_PCT, before Meta blocks us.
META_THROTTLE_SLOW_PCT = env.float("META_THROTTLE_SLOW_PCT", default=75.0)
META_THROTTLE_STOP_PCT = env.float("META_THROTTLE_STOP_PCT", default=95.0)
META_THROTTLE_MAX_DELAY = env.float("META_THROTTLE_MAX_DELAY", default=10.0)
META_THROTTLE_COOLDOWN = env.float("META_THROTTLE_COOLDOWN", default=60.0)
# Wait after a rate-limit error that carries no estimated_time_to_regain_access (s).
META_RATE_LIMIT_APP_WAIT = env.float("META_RATE_LIMIT_APP_WAIT", default=60.0)
META_RATE_LIMIT_BUC_WAIT = env.float("META_RATE_LIMIT_BUC_WAIT", default=300.0)
# Warn this many days before the Meta catalog token expires (admin banner, health page).
META_TOKEN_WARNING_DAYS = env.int("META_TOKEN_WARNING_DAYS", default=7)
# A token checked this recently is not re-checked before a sync run (debug_token per push is waste).
META_TOKEN_RECHECK_SECONDS = env.int("META_TOKEN_RECHECK_SECONDS", default=300)

# Sync engine (catalog/sync/). Items per items_batch call: never above Meta's 5,000, and
# each catalog may ask for fewer (Catalog.max_batch_size).
SYNC_MAX_ITEMS_PER_BATCH = env.int("SYNC_MAX_ITEMS_PER_BATCH", default=5000)
# Batch API calls per catalog per push run (runs are every minute): Meta allows only about
# 100-200 catalog batch calls an hour, and a big tenant must not hold the workers.
SYNC_MAX_BATCHES_PER_RUN = env.int("SYNC_MAX_BATCHES_PER_RUN", default=2)
# A waiting operator sync (sync_catalog --wait) of a sharded catalog drives up to this many
# shards at once, one thread each (PostgreSQL only; SQLite has a single writer anyway).
SYNC_PARALLEL_SHARDS = env.int("SYNC_PARALLEL_SHARDS", default=2)
# A shard with more pending items than this waits for its due replace feed instead of
# spending the small Batch API quota (full syncs of big catalogs go by the feed).
SYNC_FEED_PREFERRED_ABOVE = env.int("SYNC_FEED_PREFERRED_ABOVE", default=10000)
# Seconds between status polls of one handle / upload (the last value repeats).
SYNC_POLL_DELAYS = [float(x) for x in env.list("SYNC_POLL_DELAYS", default=["5", "10", "30", "60", "120", "300"])]
# A handle Meta never finishes is given up (items re-queued) after this many seconds.
SYNC_HANDLE_TIMEOUT = env.int("SYNC_HANDLE_TIMEOUT", default=2 * 3600)
SYNC_FEED_TIMEOUT = env.int("SYNC_FEED_TIMEOUT", default=6 * 3600)
# A claimed batch whose worker stopped heart-beating this long ago is released.
SYNC_CLAIM_TIMEOUT = env.int("SYNC_CLAIM_TIMEOUT", default=15 * 60)
# Pauses that end by themselves: longest outage back-off, rejected-request pause,
# and how often a missing permission is looked at again (seconds).
SYNC_OUTAGE_BACKOFF_MAX = env.int("SYNC_OUTAGE_BACKOFF_MAX", default=30 * 60)
SYNC_ERROR_PAUSE = env.int("SYNC_ERROR_PAUSE", default=30 * 60)
SYNC_PERMISSION_RECHECK = env.int("SYNC_PERMISSION_RECHECK", default=30 * 60)
# Push on change (catalog/sync/push_requests.py): changes requested within this many seconds
# of the first one go in the same items_batch call per shard (a burst is one call, not one per change).
SYNC_PUSH_COALESCE_SECONDS = env.float("SYNC_PUSH_COALESCE_SECONDS", default=2.0)
# A push task waits at most this long for its window; a longer wait (a tight budget) is left
# to the minute schedule, so no worker sleeps for minutes.
SYNC_PUSH_MAX_WAIT = env.float("SYNC_PUSH_MAX_WAIT", default=20.0)
# A push task queued this long ago and not done was lost (its worker was killed): the next
# request queues another, so a dead worker holds pushes back this long at most.
SYNC_PUSH_LOST_AFTER = env.float("SYNC_PUSH_LOST_AFTER", default=60.0)
# Meta's items_batch calls per catalog and hour (200 for a business with one user; 200 +
# 200 * log2(users) with more): pushes are spread so this hour's rest never runs dry.
SYNC_BATCH_CALLS_PER_HOUR = env.int("SYNC_BATCH_CALLS_PER_HOUR", default=200)
# The budget is tight when no more calls than this are left this hour, or calls must be
# this many seconds apart: then only volatile fields (price, stock) go by the Batch API
# and the rest by an update feed.
SYNC_BATCH_RESERVE_CALLS = env.int("SYNC_BATCH_RESERVE_CALLS", default=10)
SYNC_PUSH_TIGHT_SPACING = env.float("SYNC_PUSH_TIGHT_SPACING", default=120.0)
# Calls a catalog may spend ahead of an even spread of the hour's quota: a burst of changes
# goes at once; beyond it (and the pace), the calls left are spread over the rest of the hour.
SYNC_PUSH_BURST_CALLS = env.int("SYNC_PUSH_BURST_CALLS", default=20)
# After a push, one task follows its handles to Meta's verdict for up to this many seconds
# (the minute schedule polls the rest).
SYNC_CONFIRM_FOLLOW_SECONDS = env.float("SYNC_CONFIRM_FOLLOW_SECONDS", default=60.0)
# Where replace / update feed files are written while they upload (deleted afterwards).
SYNC_FEED_DIR = env.str("SYNC_FEED_DIR", default="") or None
# Shard sizes (catalog.sync.sharding): half of Meta's >1M items / >1 GB guidance per shard.
SYNC_ITEMS_PER_SHARD = env.int("SYNC_ITEMS_PER_SHARD", default=500_000)
SYNC_FEED_BYTES_PER_SHARD = env.int("SYNC_FEED_BYTES_PER_SHARD", default=512 * 1024 * 1024)
# Drift and ghost detection (catalog.sync.drift): a run every N minutes reads a few pages of
# each catalog back from Meta, so a full pass takes about a day; drifted items are re-pushed.
DRIFT_SCAN_EVERY_MINUTES = env.int("DRIFT_SCAN_EVERY_MINUTES", default=15)
DRIFT_MIN_PAGES_PER_RUN = env.int("DRIFT_MIN_PAGES_PER_RUN", default=1)
DRIFT_AUTO_REPUSH = env.bool("DRIFT_AUTO_REPUSH", default=True)
# Shopify Admin API version used by the client and served by the sandbox.
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2025-10")
# First back-off step (seconds) of the Shopify client's retries of transient errors; doubles each time.
SHOPIFY_BACKOFF_SECONDS = env.float("SHOPIFY_BACKOFF_SECONDS", default=1.0)
# How often a bulk operation's status is polled, and how long we wait for it at most.
SHOPIFY_BULK_POLL_SECONDS = env.float("SHOPIFY_BULK_POLL_SECONDS", default=5.0)
SHOPIFY_BULK_TIMEOUT_SECONDS = env.float("SHOPIFY_BULK_TIMEOUT_SECONDS", default=6 * 3600)
# Webhook bodies above this size get 413 (a 2,048-variant products/update is ~2 MB).
SHOPIFY_WEBHOOK_MAX_BYTES = env.int("SHOPIFY_WEBHOOK_MAX_BYTES", default=20 * 1024 * 1024)
# Reconciliation: incremental import every N minutes, a full one when the last is older than this.
SHOPIFY_RECONCILE_MINUTES = env.int("SHOPIFY_RECONCILE_MINUTES", default=60)
SHOPIFY_FULL_IMPORT_HOURS = env.int("SHOPIFY_FULL_IMPORT_HOURS", default=24)
# Stores with more products than this are imported with a bulk operation by the scheduler.
SHOPIFY_BULK_THRESHOLD_PRODUCTS = env.int("SHOPIFY_BULK_THRESHOLD_PRODUCTS", default=2000)
# PostgreSQL: an import that has created this many rows refreshes the planner statistics of
# the product tables (then again at 4x as many); 0 turns it off. See catalog/shopify/table_statistics.py.
SHOPIFY_IMPORT_ANALYZE_ROWS = env.int("SHOPIFY_IMPORT_ANALYZE_ROWS", default=50_000)

# Minutes between polls of Meta's diagnostics (Meta recommends hourly); the health page
# treats diagnostics older than two intervals as stale ("last checked at ...").
DIAGNOSTICS_POLL_MINUTES = env.int("DIAGNOSTICS_POLL_MINUTES", default=60)
# Lookups of 100 items by id an hourly verdict poll may make while many items wait for
# Meta's verdict (50 when the catalog is calm): 2% of a one-user business's management quota.
VERDICT_MAX_LOOKUPS_PER_RUN = env.int("VERDICT_MAX_LOOKUPS_PER_RUN", default=400)

# E-mail (alert digests): a URL as django-environ reads it, e.g. smtp+tls://user:pass@host:587;
# development prints mails on the console. Tests use Django's locmem backend.
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update({k: v for k, v in env.email_url_config(EMAIL_URL).items() if v is not None})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Galantis <alerts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Alerts (alerts/): minutes between digests (one per tenant per period), hours after which an
# unchanged open alert is said again, a token expiring within this many days, the FAILED share
# (percent of a catalog's variants to be live, and at least this many variants) that is a spike,
# and how many runs try to send a digest before it is given up.
ALERTS_DIGEST_MINUTES = env.int("ALERTS_DIGEST_MINUTES", default=60)
ALERTS_REPEAT_HOURS = env.int("ALERTS_REPEAT_HOURS", default=24)
ALERTS_TOKEN_DAYS = env.int("ALERTS_TOKEN_DAYS", default=META_TOKEN_WARNING_DAYS)
ALERTS_FAILURE_SHARE_PCT = env.float("ALERTS_FAILURE_SHARE_PCT", default=5.0)
ALERTS_FAILURE_MIN_VARIANTS = env.int("ALERTS_FAILURE_MIN_VARIANTS", default=5)
ALERTS_MAX_SEND_ATTEMPTS = env.int("ALERTS_MAX_SEND_ATTEMPTS", default=48)

# Per-item timeline (issue 19): events older than this many days are purged by a schedule.
TIMELINE_RETENTION_DAYS = env.int("TIMELINE_RETENTION_DAYS", default=90)
# Re-review queue: Meta's additional_reviews edge takes 100 items a call and 10 calls a day per
# catalog; lower them to keep a share of that budget for requests made in Commerce Manager.
REREVIEW_CALLS_PER_DAY = env.int("REREVIEW_CALLS_PER_DAY", default=10)
REREVIEW_ITEMS_PER_CALL = env.int("REREVIEW_ITEMS_PER_CALL", default=100)

# The sandbox stand-ins for Meta and Shopify: on in development, demo and tests only.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# Seconds the Graph API sandbox waits before it processes a Batch API call or feed upload
# (done lazily when a status is read after that); the test suite sets 0.
SANDBOX_BATCH_DELAY_SECONDS = env.float("SANDBOX_BATCH_DELAY_SECONDS", default=2.0)
# Request lines a processed sandbox batch keeps (for the admin); the freshness bench keeps
# every line to see which call carried each change.
SANDBOX_BATCH_REQUESTS_KEPT = env.int("SANDBOX_BATCH_REQUESTS_KEPT", default=20)
# Graph sandbox: seconds of work one call touching a catalog may spend ingesting a feed
# upload; a big file is processed over several calls, so a status poll never waits long.
SANDBOX_FEED_SLICE_SECONDS = env.float("SANDBOX_FEED_SLICE_SECONDS", default=5.0)
# Fault: a feed upload session breaks off after this many rows (0: never; the fault suite's half-way failure).
SANDBOX_FEED_FAIL_AFTER_ROWS = env.int("SANDBOX_FEED_FAIL_AFTER_ROWS", default=0)
# Shopify sandbox: seconds before a bulk operation starts running (tests set 0), seconds of
# work one status poll may spend writing its JSONL, and the default rate-limit bucket of a new
# shop: Shopify's Standard plan today (docs/shopify-api.md §4: 100 points/s; a
# 2,000-point bucket in its answers). Older docs said 1,000 at 50/s: set both to imitate that.
SANDBOX_SHOPIFY_BULK_DELAY_SECONDS = env.float("SANDBOX_SHOPIFY_BULK_DELAY_SECONDS", default=1.0)
SANDBOX_SHOPIFY_BULK_SLICE_SECONDS = env.float("SANDBOX_SHOPIFY_BULK_SLICE_SECONDS", default=5.0)
# How long a finished bulk operation's file can be downloaded (Shopify: 7 days); 0 expires it at once.
SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS = env.float("SANDBOX_SHOPIFY_BULK_RESULT_TTL_SECONDS", default=7 * 86400.0)
SANDBOX_SHOPIFY_BUCKET_SIZE = env.float("SANDBOX_SHOPIFY_BUCKET_SIZE", default=2000.0)
SANDBOX_SHOPIFY_RESTORE_RATE = env.float("SANDBOX_SHOPIFY_RESTORE_RATE", default=100.0)
# Seconds the sandbox waits for a webhook receiver (Shopify allows 5 in total).
SANDBOX_SHOPIFY_WEBHOOK_TIMEOUT = env.float("SANDBOX_SHOPIFY_WEBHOOK_TIMEOUT", default=5.0)
# First retry delay of a failed webhook, doubled per attempt (Shopify: 8 tries over 4 hours).
SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS = env.float("SANDBOX_SHOPIFY_WEBHOOK_RETRY_BASE_SECONDS", default=5.0)

INSTALLED_APPS = [
    "galantis.admin_site.GalantisAdminConfig",  # django.contrib.admin with the Galantis site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "catalog",
    "diagnostics",
    "conversions",
    "alerts",
    # After catalog: catalog's ``qcluster`` (a bounded stop on SIGTERM) overrides Django-Q2's.
    "django_q",
]
# The sandbox plays Meta and Shopify, so its models keep tokens in plain text: where it is
# off (production) it is not installed at all: no tables, admin pages, URLs or commands.
# Product code never imports it; the demo (sandbox/demo, ``manage.py demo``) is part of it.
if SANDBOX_ENABLED:
    INSTALLED_APPS += ["sandbox", "sandbox.shopify"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (it may hold a chosen language), before CommonMiddleware (which may redirect):
    # picks the request's language from Accept-Language among LANGUAGES.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "galantis.urls"
WSGI_APPLICATION = "galantis.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite file for the demo; CI and production set postgres://...
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and Q2 workers write at once: WAL plus immediate transactions,
    # or SQLite answers "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login throttling (django-axes): the first backend refuses a locked-out login before any
# password is checked. AXES_FAILURE_LIMIT failures for one username from one address lock
# that pair out for AXES_COOLOFF_MINUTES (answered 429); a successful login resets the count.
# Behind a proxy the address is the proxy's, so the lock is in effect per username.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Languages the merchant pages speak (LocaleMiddleware picks one from Accept-Language); the
# French catalog is locale/fr/LC_MESSAGES/django.po, compiled .mo committed (`make messages`).
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/health/"

# Production hardening; `manage.py check --deploy` is clean with DEBUG=False.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts and style sheets from this
# site only, no inline <script> or <style> at all (templates load static files). Style
# *attributes* stay allowed (style-src-attr): meters and chart legends carry per-row widths
# and colours, and an attribute runs no code. Product images come from the shops' CDNs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Shopify webhooks and Meta callbacks arrive over HTTP from the sandbox too.
SECURE_REDIRECT_EXEMPT = [r"^sandbox/"] if SANDBOX_ENABLED else []

# Django-Q2: Redis when REDIS_URL is set, otherwise the ORM broker on the default database.
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "galantis",
    "workers": env.int("Q_WORKERS", default=2),
    # timeout < retry, or a long task is handed out twice (django-q2 docs/configure.rst).
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=720),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Tasks",
}
# Seconds a SIGTERM'd qcluster lets busy workers finish before killing them (catalog's qcluster).
Q_STOP_GRACE = env.float("Q_STOP_GRACE", default=8)
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "plain" (a line of text per record) or "json" (one object per line, for log collectors).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
# Every handler carries the redaction filter (galantis/logredact.py): no token, secret or
# query-string value reaches a log line. Django's own loggers are routed through these
# handlers too: its default "django" console handler and runserver's "django.server"
# access log (request lines with their query strings) would otherwise write unfiltered.
# gunicorn writes no access log unless --access-logfile is given; nothing here enables it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "galantis.logredact.RedactSecretsFilter"},
        # Tenant, catalog and task of the work in progress on every record (galantis/logcontext.py).
        "context": {"()": "galantis.logcontext.ContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"},
        "json": {"()": "galantis.logcontext.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact_secrets"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's defaults (an unfiltered console handler, and mail_admins, which
        # would mail request details and is idle anyway: ADMINS is not set); records go to root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
    },
}
