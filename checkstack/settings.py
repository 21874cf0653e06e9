"""Checkstack settings: the only module that reads the environment."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue
from kombu.common import Broadcast

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

# The embedded SQLite database, broker database, beat schedule and collected static files live here.
VAR_DIR = Path(env("CHECKSTACK_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Security -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Values shipped in examples and docs: a key anyone can read signs sessions and derives the secrets key.
EXAMPLE_SECRET_KEYS = {"change-me", "changeme", "insecure-dev-key-only-for-debug"}
SECRET_KEY = env("SECRET_KEY", default="")
# A remote prober (checks/prober/) signs and decrypts nothing and talks HTTP only: it needs no key, no
# database and no broker, so a throwaway key is generated for it (manage.py sets the role for that command).
CHECKSTACK_ROLE = env("CHECKSTACK_ROLE", default="core")
if CHECKSTACK_ROLE == "prober" and not SECRET_KEY:
    SECRET_KEY = __import__("secrets").token_urlsafe(50)
if DEBUG:
    SECRET_KEY = SECRET_KEY or "insecure-dev-key-only-for-debug"
elif (
    SECRET_KEY in EXAMPLE_SECRET_KEYS
    # Django's own measure of a weak key (security.W009), made fatal: a warning nobody reads protects nothing.
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing, an example value or too weak (50+ characters, 5+ distinct ones) while DEBUG is "
        "off. Generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Origins (scheme://host) allowed to POST with a CSRF token when they differ from the host, e.g. behind a proxy.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Opt-in, only behind a proxy that sets X-Forwarded-Proto itself: a client could otherwise claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", default=False) \
    else None
# Cookies go over HTTPS only unless debugging; set false to serve production over plain HTTP (not advised).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Off by default: redirecting needs TLS in front, and behind a TLS proxy without SECURE_PROXY_SSL_HEADER
# every request would look like plain HTTP and redirect forever. The production configuration turns it on.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# 0 by default: browsers remember HSTS for this long, so it is set once HTTPS is known to work.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

INSTALLED_APPS = [
    "checkstack.admin_site.CheckstackAdminConfig",  # Django's admin, branded, with the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: /api/docs/ works without a CDN
    "automation",
    "catalog",
    "incidents",
    "maintenance",
    "statuspage",
    "notifications",
    "checks",
    "checkstack",  # project-level management commands (checkstack_demo)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (collectstatic) in every process model, gunicorn included; right after
    # SecurityMiddleware as whitenoise documents, so its redirects and headers apply first.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "automation.entities.actor.ActorMiddleware",
]

ROOT_URLCONF = "checkstack.urls"
SESSION_ENGINE = "foundation.sessions"
WSGI_APPLICATION = "checkstack.wsgi.application"

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

DATABASES = {
    # An empty DATABASE_URL (as `.env.example` ships it) counts as unset, like an empty CELERY_BROKER_URL.
    "default": env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'checkstack.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web, worker and beat processes read while one of them writes;
    # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Server-side binding lets psycopg prepare what a connection runs again and again (from the 5th time):
    # planning the routing path's joins cost more than running them. Behind a pooler in transaction mode
    # that cannot keep prepared statements, set DATABASE_PREPARE_THRESHOLD empty (never prepare).
    prepare_threshold = env("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=int(prepare_threshold) if prepare_threshold else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
# Hashed, compressed names with far-future cache headers need `collectstatic` first (its manifest): only
# with DEBUG off, as production runs. With DEBUG on whitenoise also serves straight from the apps' folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "foundation.authentication.StrictTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["foundation.permissions.ActionAwarePermissions"],
    "DEFAULT_PAGINATION_CLASS": "foundation.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Service errors (validation, permission, vanished rows, conflicts) become responses in one place.
    "EXCEPTION_HANDLER": "foundation.api_errors.api_exception_handler",
    # JSON only, within the body limits (automations also take YAML): no form or multipart parser, so an
    # upload of any size is a 415 before anything reads it.
    "DEFAULT_PARSER_CLASSES": ["foundation.request_bodies.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
CHECKSTACK_MAX_BODY_BYTES = env.int("CHECKSTACK_MAX_BODY_BYTES", default=1024 * 1024)  # API bodies: 413 beyond
# An automation document (API body, GitOps file, form field): 413 / a document error beyond. Well below the
# body limit: reading and validating a document costs far more per byte than storing other bodies.
CHECKSTACK_MAX_DOCUMENT_BYTES = env.int("CHECKSTACK_MAX_DOCUMENT_BYTES", default=128 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Checkstack API",
    "DESCRIPTION": "Systems, health, incidents, maintenance windows and automations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # docs/api.md: anonymous users get nothing but /status/ and /healthz; the schema needs a login too.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags (Swagger's sections) come from the first path segment after this: one per resource (systems,
    # incidents, automations, ...), not one "v1" for everything.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Several models have a `status`; name each enum after its model so the schema has no collisions.
    "ENUM_NAME_OVERRIDES": {
        "HealthStatusEnum": "catalog.models.HealthStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "MaintenanceStatusEnum": "maintenance.models.MaintenanceStatus",
        "RunStatusEnum": "automation.models.runs.RunStatus",
        "ChannelKindEnum": "notifications.channels.models.ChannelKind",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
# With nothing set, the embedded broker: kombu's SQLAlchemy transport on a SQLite file, needing no server.
# It replaced kombu's filesystem transport, whose worker died reading a message file before its writer had
# finished it (kombu issue 1551); SQLite serialises writers and the transport takes each message inside
# BEGIN IMMEDIATE, so web, beat and the worker's children publish safely side by side (embedded_broker.py).
# Empty counts as unset (.env.example lists it empty).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or f"sqlite:///{VAR_DIR / 'broker.sqlite3'}"
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("sqlite:")
if EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT = "checkstack.embedded_broker:Transport"
    # kombu sleeps this long whenever a poll finds nothing (a poll is one short BEGIN IMMEDIATE per queue).
    # Its 1 s default lets beat's every-second sweeps outpace the worker; 0.1 s wakes within a tenth.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.1}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection before and after each task unless this is set
# (celery issue 4116), so each task paid a new PostgreSQL connection: more than routing a change costs.
# Set, the fixup closes them only every this many tasks; checkstack.celery closes a connection at task
# boundaries when Django would at request boundaries (CONN_MAX_AGE, failed health check, errors).
CELERY_DB_REUSE_MAX = 1000
# A wake-up that cannot be published is not retried at length: the outbox sweeper re-sends it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Every task's backstop (docs/operations.md "Task time limits"): past the soft limit the task gets an exception
# where it stands, which the firing or step it was deciding records as its error; past the hard limit the pool
# kills the worker process and starts another. A task that reached its soft limit also ends its process once it
# returns (checkstack.celery), so whatever the interrupted code left behind is not reused.
CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS = env.float("CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS", default=300.0)
CHECKSTACK_TASK_TIME_LIMIT_SECONDS = env.float("CHECKSTACK_TASK_TIME_LIMIT_SECONDS", default=330.0)
CELERY_TASK_SOFT_TIME_LIMIT = CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS
CELERY_TASK_TIME_LIMIT = max(CHECKSTACK_TASK_TIME_LIMIT_SECONDS, CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS + 1)
# One expression's or template's deadline (docs/expressions.md). Raised only by the integration test that
# makes an evaluation outlast its task's time limit; lowering it refuses more templates.
CHECKSTACK_EXPRESSION_SECONDS = env.float("CHECKSTACK_EXPRESSION_SECONDS", default=0.5)
# Estimated bytes of compiled expressions and templates each process keeps (automation/expressions/compile_cache.py).
CHECKSTACK_COMPILE_CACHE_BYTES = env.int("CHECKSTACK_COMPILE_CACHE_BYTES", default=64 * 1024 * 1024)
CELERY_BEAT_SCHEDULE = {
    "sweep-undelivered": {
        "task": "checkstack.sweep_undelivered",
        "schedule": env.float("CHECKSTACK_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
    "fire-due-timers": {
        "task": "checkstack.fire_due_timers",
        "schedule": env.float("CHECKSTACK_TIMER_INTERVAL_SECONDS", default=1.0),
    },
    "fire-schedules": {
        "task": "checkstack.fire_schedules",
        "schedule": env.float("CHECKSTACK_TIMER_INTERVAL_SECONDS", default=1.0),
    },
    # A window starts or ends at most this late. Drops a tick still queued when the next is due.
    "maintenance-advance-schedule": {
        "task": "checkstack.maintenance_advance_schedule",
        "schedule": 30.0,
        "options": {"expires": 25.0},
    },
    "recover-stalled-runs": {
        "task": "checkstack.recover_stalled_runs",
        "schedule": env.float("CHECKSTACK_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
    # Notification and confirmation emails a lost wake-up or worker left owed; lost claims; expired requests.
    "notifications-sweep": {
        "task": "checkstack.sweep_notifications",
        "schedule": env.float("CHECKSTACK_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
    # Channel deliveries due again after a back-off, or whose wake-up or worker was lost.
    "channels-sweep": {
        "task": "checkstack.sweep_channel_deliveries",
        "schedule": env.float("CHECKSTACK_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
    "purge-expired": {"task": "checkstack.purge_expired", "schedule": 300.0, "options": {"expires": 290.0}},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Three queues here (a fourth, "checkstack.checks", is added in the Checks block below). "celery": routing,
# runs, timers and the beat sweeps (routing latency is measured here).
# "checkstack.deliveries": work_queue subscriber deliveries and the emails they owe; a burst of them (one
# incident, thousands of followers) queues here, not in front of routing. "checkstack.broadcast": a fan-out
# queue every worker consumes (on the embedded broker, which has no fan-out, a plain queue: see below). A worker
# started without -Q consumes every queue listed here (Celery's
# default), which is what the Procfile and `dev.py run` rely on; see README "Operations" for pools per queue.
CELERY_TASK_QUEUES = [
    Queue("celery"),
    # Its own exchange and key: a bare Queue(name) takes the default exchange and key "celery", so each
    # delivery would also be copied into "celery" and the routing pool would take deliveries after all.
    Queue("checkstack.deliveries", Exchange("checkstack.deliveries"), routing_key="checkstack.deliveries"),
    # kombu's SQLAlchemy transport has no fan-out exchange: a Broadcast there would drop every message. The
    # embedded default runs one worker, so a plain queue it consumes reaches every worker there is; several
    # workers on the embedded broker are not supported (each broadcast would reach one of them).
    Queue("checkstack.broadcast", Exchange("checkstack.broadcast"), routing_key="checkstack.broadcast")
    if EMBEDDED_BROKER else Broadcast("checkstack.broadcast"),
]
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Routed here, not by the task's own options: wake-ups are published by task name, also from processes that
# never imported the task's module. Beat's jobs stay on "celery": the sweeper that re-sends lost routing
# wake-ups must not wait behind a delivery burst.
CELERY_TASK_ROUTES = {
    "checkstack.broadcast_change": {"queue": "checkstack.broadcast"},
    "checkstack.deliver_change": {"queue": "checkstack.deliveries"},
    "checkstack.send_notification": {"queue": "checkstack.deliveries"},
    "checkstack.send_subscription_confirmation": {"queue": "checkstack.deliveries"},
    "checkstack.purge_expired": {"queue": "checkstack.deliveries"},  # up to its budget: not a routing slot
    "checkstack.send_channel_delivery": {"queue": "checkstack.deliveries"},
    "checkstack.send_channel_deliveries": {"queue": "checkstack.deliveries"},
}

# --- Checkstack -----------------------------------------------------------------------------------
# Seconds an undelivered change event waits before the sweeper re-sends it.
CHECKSTACK_OUTBOX_GRACE_SECONDS = env.int("CHECKSTACK_OUTBOX_GRACE_SECONDS", default=10)
# A change event whose routing keeps failing is parked after this many attempts spread over at least this
# many seconds (entities/parking.py); transient database errors do not count.
CHECKSTACK_PARK_AFTER_ATTEMPTS = env.int("CHECKSTACK_PARK_AFTER_ATTEMPTS", default=5)
CHECKSTACK_PARK_AFTER_SECONDS = env.int("CHECKSTACK_PARK_AFTER_SECONDS", default=600)
# Off: no wake-up is sent at commit, only the sweeper delivers (benchmarks measure that path).
CHECKSTACK_FAST_PATH = env.bool("CHECKSTACK_FAST_PATH", default=True)
CHECKSTACK_MAX_CHAIN_DEPTH = env.int("CHECKSTACK_MAX_CHAIN_DEPTH", default=10)
# A worker renews a run's lease at every step; a run whose lease lapsed is recovered by the sweeper.
CHECKSTACK_RUN_LEASE_SECONDS = env.int("CHECKSTACK_RUN_LEASE_SECONDS", default=60)
# Claims of one run without progress before it fails (a step that keeps killing its worker).
CHECKSTACK_RUN_MAX_ATTEMPTS = env.int("CHECKSTACK_RUN_MAX_ATTEMPTS", default=5)
# Times one step may be started (a crash mid-step retries it) before it fails.
CHECKSTACK_STEP_MAX_ATTEMPTS = env.int("CHECKSTACK_STEP_MAX_ATTEMPTS", default=3)
# Retention (automation/retention.py, README "Retention"): days each kind of row is kept; 0 keeps it forever.
# Floors the purge never goes below, whatever these say: see automation/retention.py.
CHECKSTACK_RETAIN_RUNS_DAYS = env.int("CHECKSTACK_RETAIN_RUNS_DAYS", default=30)  # ended runs, steps, fired timers
CHECKSTACK_RETAIN_CHANGES_DAYS = env.int("CHECKSTACK_RETAIN_CHANGES_DAYS", default=30)  # with their deliveries
CHECKSTACK_RETAIN_WINDOW_HITS_DAYS = env.int("CHECKSTACK_RETAIN_WINDOW_HITS_DAYS", default=2)
CHECKSTACK_RETAIN_NOTIFICATIONS_DAYS = env.int("CHECKSTACK_RETAIN_NOTIFICATIONS_DAYS", default=90)
CHECKSTACK_RETAIN_TRANSITIONS_DAYS = env.int("CHECKSTACK_RETAIN_TRANSITIONS_DAYS", default=365)
# Rows per DELETE, and seconds one beat tick may spend purging (the rest waits for the next tick).
CHECKSTACK_RETENTION_BATCH = env.int("CHECKSTACK_RETENTION_BATCH", default=1000)
CHECKSTACK_RETENTION_BUDGET_SECONDS = env.float("CHECKSTACK_RETENTION_BUDGET_SECONDS", default=20.0)
# Fernet keys of secrets at rest, newest first: the first encrypts, all decrypt (rotate with
# `manage.py secrets_rotate`). CHECKSTACK_SECRETS_KEY (one key) still works and comes after the list; with
# neither, a key derived from SECRET_KEY is used, and it always stays last for decrypting.
CHECKSTACK_SECRETS_KEYS = env.list("CHECKSTACK_SECRETS_KEYS", default=[])
CHECKSTACK_SECRETS_KEY = env("CHECKSTACK_SECRETS_KEY", default="")
# Clients that may read /metrics without logging in (IPs or CIDRs); staff users always may.
CHECKSTACK_METRICS_ALLOWLIST = env.list("CHECKSTACK_METRICS_ALLOWLIST", default=["127.0.0.1", "::1"])
# Set: /metrics needs `Authorization: Bearer <this>` (or a staff login) and the allow-list no longer counts;
# behind a reverse proxy on the same host every client's address is 127.0.0.1 (docs/operations.md).
CHECKSTACK_METRICS_TOKEN = env("CHECKSTACK_METRICS_TOKEN", default="")
CHECKSTACK_WEBHOOK_ALLOWLIST = env.list("CHECKSTACK_WEBHOOK_ALLOWLIST", default=[])
# Checks may reach private and loopback addresses; cloud metadata and link-local ones only when listed here
# (host names, addresses, networks): checks/targets.py.
CHECKSTACK_CHECKS_ALLOWLIST = env.list("CHECKSTACK_CHECKS_ALLOWLIST", default=[])

# --- Checks (configuration and ingress) ---
# Pings a heartbeat's URL (/ping/<token>) may receive per window; more answer 429 (docs/checks.md).
CHECKSTACK_PING_LIMIT_PER_TOKEN = env.int("CHECKSTACK_PING_LIMIT_PER_TOKEN", default=30)
CHECKSTACK_PING_LIMIT_WINDOW_SECONDS = env.int("CHECKSTACK_PING_LIMIT_WINDOW_SECONDS", default=60)
# Pings one client address may send per window, over all tokens (a host running many cron jobs pings many).
CHECKSTACK_PING_LIMIT_PER_CLIENT = env.int("CHECKSTACK_PING_LIMIT_PER_CLIENT", default=600)

# --- Checks (history and status page) ---
# Characters of a reported health message the public status page shows (longer ones are cut with "…"); a
# message written by checks is never shown there (docs/status-page.md).
CHECKSTACK_STATUS_MESSAGE_CHARS = env.int("CHECKSTACK_STATUS_MESSAGE_CHARS", default=280)
# Days of daily check roll-ups kept (the status page's uptime history); never fewer than 90 (checks/rollups.py).
CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS = env.int("CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS", default=400)
# Task modules that are not an app's tasks.py (Celery's autodiscovery finds only those).
CELERY_IMPORTS = ["checks.rollup_tasks", "checks.slos.tasks"]
# Today's and yesterday's roll-ups, and any day the result purge would otherwise lose. Not a routing slot.
CELERY_BEAT_SCHEDULE["checks-rollups-refresh"] = {
    "task": "checkstack.rollups_refresh", "schedule": 300.0, "options": {"expires": 290.0}}
CELERY_TASK_ROUTES["checkstack.rollups_refresh"] = {"queue": "checkstack.deliveries"}
# Every objective's figures, and its `slo` entity where status or budget band moved (checks/slos/evaluation.py).
# Every minute: the multiwindow rule's short window is 5 minutes.
CELERY_BEAT_SCHEDULE["checks-slos-evaluate"] = {
    "task": "checkstack.slos_evaluate", "schedule": 60.0, "options": {"expires": 55.0}}
CELERY_TASK_ROUTES["checkstack.slos_evaluate"] = {"queue": "checkstack.deliveries"}

# --- Checks (running) ---
# Checks leased (in flight) at once, whatever the number of workers: docs/checks-running.md.
CHECKSTACK_CHECKS_MAX_IN_FLIGHT = env.int("CHECKSTACK_CHECKS_MAX_IN_FLIGHT", default=200)
CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS = env.int("CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS", default=14)
# Runs of checks on a queue of their own, so slow targets never delay routing or deliveries.
CELERY_TASK_QUEUES.append(Queue("checkstack.checks", Exchange("checkstack.checks"), routing_key="checkstack.checks"))
CELERY_TASK_ROUTES["checkstack.run_check"] = {"queue": "checkstack.checks"}
CELERY_TASK_ROUTES["checkstack.run_checks"] = {"queue": "checkstack.checks"}
# Claims per run message: a batch's leases are renewed and its results recorded in one transaction each.
CHECKSTACK_CHECKS_BATCH = env.int("CHECKSTACK_CHECKS_BATCH", default=50)
# Probe threads per worker process: how many of its checks wait on their targets at once (checks/run_batches.py).
CHECKSTACK_CHECKS_PROBE_THREADS = env.int("CHECKSTACK_CHECKS_PROBE_THREADS", default=50)
# Drops a tick still queued when the next is due (the claim is idempotent: a missed tick is the next one's).
CELERY_BEAT_SCHEDULE["schedule-checks"] = {"task": "checkstack.schedule_checks", "schedule": 1.0,
                                           "options": {"expires": 5.0}}

# --- Check locations (remote probers: docs/check-locations.md) ---
# Seconds without a heartbeat after which a location is offline (its checks then count as "no data").
CHECKSTACK_PROBER_OFFLINE_SECONDS = env.int("CHECKSTACK_PROBER_OFFLINE_SECONDS", default=30)
# Requests one location's prober may make per minute (heartbeats, claims, result batches); more answer 429.
CHECKSTACK_PROBER_RATE_LIMIT = env.int("CHECKSTACK_PROBER_RATE_LIMIT", default=1200)
# Beyond a check's timeout, how long a prober's claim holds: the time to post its result. A dead prober's
# checks are claimed again once it passes (at their next due time).
CHECKSTACK_PROBER_LEASE_MARGIN_SECONDS = env.int("CHECKSTACK_PROBER_LEASE_MARGIN_SECONDS", default=30)
# Most checks one claim leases and most results one batch carries; a larger batch answers 413.
CHECKSTACK_PROBER_MAX_BATCH = env.int("CHECKSTACK_PROBER_MAX_BATCH", default=500)
CELERY_BEAT_SCHEDULE["locations-sweep"] = {"task": "checkstack.locations_sweep", "schedule": 5.0,
                                           "options": {"expires": 4.0}}

# --- Email and subscribers ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Seconds an SMTP operation may block (notifications), and the whole send of an `automation.email` step.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="checkstack@localhost")
# Base of the links in emails (workers have no request to build them from).
CHECKSTACK_PUBLIC_URL = env("CHECKSTACK_PUBLIC_URL", default="http://localhost:8000")
# The public status page: its name, logo (an absolute URL or a path; empty: none) and accent colour (#rgb or
# #rrggbb; anything else falls back to the default), and how long browsers and shared caches may keep it.
CHECKSTACK_STATUS_NAME = env("CHECKSTACK_STATUS_NAME", default="System status")
CHECKSTACK_STATUS_LOGO_URL = env("CHECKSTACK_STATUS_LOGO_URL", default="")
CHECKSTACK_STATUS_ACCENT = env("CHECKSTACK_STATUS_ACCENT", default="#1c7ed6")
CHECKSTACK_STATUS_CACHE_SECONDS = env.int("CHECKSTACK_STATUS_CACHE_SECONDS", default=30)
# Serve the public status pages from the cache below (Django's cache middleware) for their max-age, for a
# deployment without a caching proxy or CDN in front. Only responses that say `public, max-age>0` are kept:
# CACHE_MIDDLEWARE_SECONDS is 0, so the admin, the API and the subscribe form (no max-age, or private) never are.
CHECKSTACK_STATUS_SERVER_CACHE = env.bool("CHECKSTACK_STATUS_SERVER_CACHE", default=False)
# A hit is answered before every other middleware (sessions, auth, CSRF): only public pages are kept, the same
# for every visitor, and their stored response already carries the headers those middlewares added.
if CHECKSTACK_STATUS_SERVER_CACHE:
    MIDDLEWARE = ["django.middleware.cache.UpdateCacheMiddleware", "django.middleware.cache.FetchFromCacheMiddleware",
                  *MIDDLEWARE]
    CACHE_MIDDLEWARE_SECONDS = 0
    CACHE_MIDDLEWARE_KEY_PREFIX = "status"
# The public subscribe form's limits: requests per address and per client IP in each window.
CHECKSTACK_SUBSCRIBE_LIMIT_PER_ADDRESS = env.int("CHECKSTACK_SUBSCRIBE_LIMIT_PER_ADDRESS", default=5)
CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT = env.int("CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT", default=20)
CHECKSTACK_SUBSCRIBE_LIMIT_WINDOW_SECONDS = env.int("CHECKSTACK_SUBSCRIBE_LIMIT_WINDOW_SECONDS", default=3600)
# Reverse proxies in front of the web process: the client IP is the N-th address from the right of
# X-Forwarded-For (what the outermost trusted proxy saw). 0: REMOTE_ADDR. Behind one proxy that appends to
# X-Forwarded-For set 1, else every client shares the proxy's address and so one rate-limit bucket.
CHECKSTACK_TRUSTED_PROXIES = env.int("CHECKSTACK_TRUSTED_PROXIES", default=0)
CHECKSTACK_SUBSCRIBE_CONFIRM_DAYS = env.int("CHECKSTACK_SUBSCRIBE_CONFIRM_DAYS", default=7)
CHECKSTACK_NOTIFICATION_MAX_ATTEMPTS = env.int("CHECKSTACK_NOTIFICATION_MAX_ATTEMPTS", default=5)
# A claimed send older than this lost its worker (the sweeper then decides from whether it was handed over).
CHECKSTACK_NOTIFICATION_SENDING_TIMEOUT_SECONDS = env.int("CHECKSTACK_NOTIFICATION_SENDING_TIMEOUT_SECONDS",
                                                          default=300)
# Notification channels (notifications/channels/): attempts per delivery before it is failed, the total
# seconds one request may take (a hanging service is cut there), the claim age after which its worker is
# taken as lost (above the request timeout), and the back-off (doubling from the base; Retry-After wins).
CHECKSTACK_CHANNEL_MAX_ATTEMPTS = env.int("CHECKSTACK_CHANNEL_MAX_ATTEMPTS", default=6)
CHECKSTACK_CHANNEL_TIMEOUT_SECONDS = env.float("CHECKSTACK_CHANNEL_TIMEOUT_SECONDS", default=10.0)
CHECKSTACK_CHANNEL_SENDING_TIMEOUT_SECONDS = env.float("CHECKSTACK_CHANNEL_SENDING_TIMEOUT_SECONDS", default=60.0)
CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS = env.float("CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS", default=10.0)
CHECKSTACK_CHANNEL_RETRY_MAX_SECONDS = env.float("CHECKSTACK_CHANNEL_RETRY_MAX_SECONDS", default=3600.0)
# The rate limits count in this cache, which every web process must share: by default a table in the
# database (made by migrate, notifications 0004), or Redis with CACHE_URL=redis://host:6379/1. Never the
# per-process memory cache: each process would count on its own.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://checkstack_cache")}

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# "plain" for people, "json" for log pipelines; both carry the run and change a line is about.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [run=%(run_id)s change=%(change_id)s] %(message)s"},
        "json": {"()": "foundation.log_context.JSONFormatter"},
    },
    "filters": {
        "mask_secrets": {"()": "automation.masking.SecretMaskingFilter"},
        "context": {"()": "foundation.log_context.ContextFilter"},
        "ping_tokens": {"()": "checks.ping_logs.PingTokenFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                    "filters": ["context", "mask_secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" its own console handler too: every line would print twice.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # Loggers that print request paths: a heartbeat's ping URL carries its token (checks/ping_logs.py).
        # gunicorn's access lines come through the console handler too, so they are filtered and formatted alike.
        "django.request": {"filters": ["ping_tokens"]},
        "django.server": {"handlers": [], "propagate": True, "filters": ["ping_tokens"]},
        "gunicorn.access": {"handlers": [], "propagate": True, "level": "INFO", "filters": ["ping_tokens"]},
        "django.db.backends": {"level": "WARNING"},
        # Beat sends sweeps every second: Celery's per-task "received/succeeded/sending" lines would drown
        # the log. Failures still show (they are warnings and errors); our own modules log what happened.
        "celery.app.trace": {"level": env("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.worker.strategy": {"level": env("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.beat": {"level": env("CELERY_TASK_LOG_LEVEL", default="WARNING")},
    },
}
