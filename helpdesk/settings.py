"""Helpdesk settings, driven by the environment (see .env.example).

With no environment at all this is the embedded mode: SQLite, Channels' in-memory layer and
Celery tasks run inside the server process. Setting DATABASE_URL and REDIS_URL switches to
PostgreSQL, channels-redis and a real Celery broker.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from helpdesk.public_url import DEFAULT_PUBLIC_URL, derived_settings

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default="DATABASE_URL" not in os.environ)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (a long random string) when DEBUG is off.")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated host names) when DEBUG is off.")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "embedded-mode-only-not-secret"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]

# --- HTTPS (docs/operations.md, "Production settings") ----------------------------------------
# Browsers reach the helpdesk over HTTPS, directly or through a TLS proxy: cookies are sent
# over HTTPS only and HSTS is on. On by default when DEBUG is off; false for a plain-HTTP install.
HELPDESK_HTTPS = env_bool("HELPDESK_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = HELPDESK_HTTPS
CSRF_COOKIE_SECURE = HELPDESK_HTTPS
# The header a TLS proxy sets to "https" (X-Forwarded-Proto). Only when the proxy always sets
# it (and strips it from clients): otherwise anyone could claim HTTPS.
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# Redirect plain HTTP to HTTPS. By default only where the helpdesk can tell HTTPS from HTTP
# behind a proxy (the header above): without it every request would look plain and loop.
SECURE_SSL_REDIRECT = env_bool(
    "SECURE_SSL_REDIRECT", default=HELPDESK_HTTPS and bool(_proxy_ssl_header)
)
# Load balancers probe the health checks over plain HTTP; a redirect would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
# HSTS: browsers use HTTPS only for this long once they saw the header (sent on HTTPS
# responses only). Preloading is a promise about the whole domain: the operator's to make.
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600 if HELPDESK_HTTPS else 0))
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HELPDESK_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
X_FRAME_OPTIONS = "DENY"  # Django's default, said here beside frame-ancestors below

# The reports' covering indexes (INCLUDE) are plain indexes on SQLite, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    "csp",  # its checks catch settings of django-csp 3 left behind
    "conversations",
    "agents",
    "reports",
    "helpcenter",
    "bot",  # stands on the core, agents and the help center (docs/bot.md)
    "inboxes",  # channels: WhatsApp, Messenger, Instagram, Telegram, the API (docs/channels.md)
    "campaigns",  # stands on the core and agents (docs/campaigns.md)
    # The project itself, last: its `serve` command runs the whole helpdesk (the embedded
    # ticker, uvicorn on ASGI_APPLICATION), which no app below it may import.
    "helpdesk",
]

MIDDLEWARE = [
    # First: load balancers probe /healthz and /readyz by an address, over plain HTTP, with
    # no session. Answered before the host check, the HTTPS redirect and everything else.
    "helpdesk.health.HealthCheckMiddleware",
    # Every log line of a request carries its id and path (helpdesk/logs.py).
    "helpdesk.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",  # pages only: WhiteNoise has answered for static files
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware, as its docs require
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite file by default, DATABASE_URL for PostgreSQL ---------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get(
            "DATABASE_URL",
            f"sqlite:///{os.environ.get('HELPDESK_SQLITE_PATH') or BASE_DIR / 'db.sqlite3'}",
        ),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "0"))
if DB_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # ASGI runs each request's sync code on its own thread: a bounded pool of connections
    # keeps a busy server under PostgreSQL's max_connections and saves a connect per request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": DB_POOL_SIZE,
        # While PostgreSQL is away a request waits this long for a connection, then answers
        # 503 with Retry-After (helpdesk/api_errors.py) instead of hanging.
        "timeout": 3,
    }
    # A connection is checked as it leaves the pool (CONN_HEALTH_CHECKS): after PostgreSQL
    # restarts, the dead ones are replaced at once instead of failing a request each.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiles a query when its estimated cost is high (searches, a million-row inbox)
    # and the compiling alone can cost more than the query. Off for every connection.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded server writes from several threads; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker; unset means in-process -------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis Pub/Sub: a group_send is one PUBLISH and each process hears it on one
            # subscription, where the original layer (channels_redis.core) ran a Lua script
            # per send and a blocking pop per process. Live events are wake-ups and the event
            # log is the truth (conversations/live/consumers.py), so Pub/Sub's at-most-once
            # delivery loses nothing. It cut the server's CPU and the p99 latency at 100
            # messages/s (bench/live.py; figures in bench/RESULTS.md).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("CHANNELS_PREFIX", "helpdesk"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED  # embedded mode: tasks run inside the server process
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker outlives any Redis outage: it reconnects forever (backing off) instead of exiting
# after 100 attempts, so reports, sweeps and emails resume by themselves.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "helpdesk.celery:Consumer"  # survives Redis dropping (see there)
# A web request that queues a job while Redis is down is told so at once (the job is a
# sweep's too: conversations/jobs.py), instead of retrying the connection for seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 1}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "helpdesk")
# How often the sweeps behind lost enqueues run (report updates; missed emails at twice this).
SWEEP_SECONDS = float(os.environ.get("HELPDESK_SWEEP_SECONDS", "30"))
CELERY_BEAT_SCHEDULE = {
    "publish-pending-events": {
        # The event log is the outbox: anything committed but not yet sequenced
        # (a crash between commit and publish) is picked up here.
        "task": "conversations.tasks.publish_pending_events",
        "schedule": 5.0,
    },
    "expire-stale-agent-connections": {
        # An agent whose browser crashed stops sending heartbeats: count them out after ~90 s.
        "task": "agents.tasks.expire_stale_agent_connections",
        "schedule": 30.0,
    },
    "drain-team-queues": {
        # Routing drains queues when room appears; this catches a lost signal.
        "task": "agents.tasks.drain_team_queues",
        "schedule": float(os.environ.get("HELPDESK_DRAIN_QUEUES_SECONDS", "30")),
    },
    "redeliver-pending-replies": {
        # A reply whose delivery task was lost between commit and broker (docs/channels.md).
        "task": "inboxes.tasks.redeliver_pending_replies",
        "schedule": 60.0,
    },
    "wake-snoozed-conversations": {
        "task": "conversations.tasks.wake_snoozed_conversations",
        "schedule": 15.0,
    },
    "send-missed-reply-emails": {
        # Reply emails are queued with a countdown; a Redis restart loses them (it keeps
        # nothing on disk). The email claim keeps a second run from mailing anything twice.
        "task": "conversations.tasks.send_missed_reply_emails",
        "schedule": 2 * SWEEP_SECONDS,
    },
    "update-reports": {
        # Events schedule a coalesced run themselves; this catches anything a lost
        # enqueue missed (the report cursor resumes where the last run stopped).
        "task": "reports.tasks.update_reports",
        "schedule": SWEEP_SECONDS,
    },
    "delete-orphan-attachments": {
        # Files a rolled-back message left in the storage (docs/attachments.md). Daily: it
        # lists the whole storage, and a file must be a day old (the grace period) anyway.
        "task": "conversations.tasks.delete_orphan_attachments",
        "schedule": 24 * 3600.0,
    },
    "resolve-idle-bot-conversations": {
        "task": "bot.tasks.resolve_idle_bot_conversations",
        "schedule": 60.0,
    },
}

# --- Auth and API ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "conversations.api.schema.HelpdeskAutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    # The public widget endpoints, the agent API, logins and socket handshakes are rate limited
    # (conversations/throttling.py); the counters live in the cache, shared by every server
    # process when REDIS_URL is set. docs/operations.md "Rate limits and abuse".
    "DEFAULT_THROTTLE_RATES": {
        "widget_sessions": os.environ.get("HELPDESK_RATE_WIDGET_SESSIONS", "30/min"),  # per IP
        "widget_availability": os.environ.get("HELPDESK_RATE_WIDGET_AVAILABILITY", "120/min"),
        "widget_conversations": os.environ.get("HELPDESK_RATE_WIDGET_CONVERSATIONS", "20/min"),
        "widget_messages": os.environ.get("HELPDESK_RATE_WIDGET_MESSAGES", "60/min"),
        # Page views the widget reports, per customer (single-page shops report each route).
        "widget_pageviews": os.environ.get("HELPDESK_RATE_WIDGET_PAGEVIEWS", "30/min"),
        # Every call of a widget customer, reads included (a stolen token polling in a loop).
        "widget_customer": os.environ.get("HELPDESK_RATE_WIDGET_CUSTOMER", "300/min"),
        # Help center articles, per IP: reads and searches (the widget's suggestions ask as the
        # customer types, debounced), and "was this helpful?" votes (per customer or IP).
        "widget_articles": os.environ.get("HELPDESK_RATE_WIDGET_ARTICLES", "120/min"),
        "widget_feedback": os.environ.get("HELPDESK_RATE_WIDGET_FEEDBACK", "30/min"),
        # Downloads of files by their signed links, per IP (images in a thread are many).
        "files": os.environ.get("HELPDESK_RATE_FILES", "600/min"),
        # Per IP: a mail provider posts every inbound email from a few addresses.
        "inbound_email": os.environ.get("HELPDESK_RATE_INBOUND_EMAIL", "120/min"),
        # Per inbox: what platforms post to /api/v1/channels/{id}/webhook and what systems
        # post to the api channel's …/messages (docs/channels.md).
        "channel_webhook": os.environ.get("HELPDESK_RATE_CHANNEL_WEBHOOK", "1200/min"),
        "channel_messages": os.environ.get("HELPDESK_RATE_CHANNEL_MESSAGES", "600/min"),
        # Per agent, on every agent and report API call: generous, so only a runaway script
        # or a leaked token meets it.
        "agent": os.environ.get("HELPDESK_RATE_AGENT", "600/min"),
        # Failed logins to /admin/login/ (also the workspace's), per IP and per username.
        "login_ip": os.environ.get("HELPDESK_RATE_LOGIN_IP", "30/hour"),
        "login_username": os.environ.get("HELPDESK_RATE_LOGIN_USERNAME", "10/hour"),
        # Websocket handshakes per IP, both sockets (guessed tokens are counted too).
        "socket_connect": os.environ.get("HELPDESK_RATE_SOCKET_CONNECT", "60/min"),
    },
    # DRF's own view of the client address (its throttles' get_ident): the same proxies as
    # ours. Left at None, DRF would take X-Forwarded-For whole, as the client sent it.
    "NUM_PROXIES": int(os.environ.get("HELPDESK_TRUSTED_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Customer widget and agent APIs of the Helpdesk.",
    "VERSION": "1",
    # The API speaks JSON (docs/api.md); the form parsers DRF also runs are a convenience of
    # the browsable API, not a promise. A view that reads more says so (inbound email).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Two enums of fields named `kind` (a message author's, a campaign's URL rule): named apart.
    "ENUM_NAME_OVERRIDES": {"UrlRuleKindEnum": "campaigns.models.UrlRule"},
    # Every operation documents the errors it can answer, in the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "conversations.api.schema.add_error_responses",
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "inboundSecret": {
                "type": "http",
                "scheme": "bearer",
                "description": "HELPDESK_INBOUND_SECRET (or the X-Helpdesk-Secret header)",
            },
            "inboxSecret": {
                "type": "http",
                "scheme": "bearer",
                "description": "The api inbox's secret, from POST /api/v1/inboxes",
            },
        }
    },
}

# --- Internationalisation: English and Turkish from day one ---------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")  # fallback; also what commands speak
LANGUAGES = [("en", _("English")), ("tr", _("Turkish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (docs/operations.md "Static files") ----------------------------------------
# `manage.py collectstatic` writes every file to STATIC_ROOT under a name carrying a hash of
# its content, compressed beside it (gzip and brotli), and a manifest. When that manifest is
# there, WhiteNoise serves those files: the hashed names cached for ten years (immutable), the
# fixed names for WHITENOISE_MAX_AGE. Without it (a fresh clone, `manage.py serve`), the apps'
# files are served as they are, from the source tree, so an edit shows on the next reload.
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATIC_MANIFEST = (STATIC_ROOT / "staticfiles.json").is_file()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "helpdesk.static_storage.HashedCompressedStorage"},
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Fixed names (the widget's embed URL among them): browsers and CDNs reuse them this long
# before asking again; a deploy reaches every visitor within it. Hashed names never change.
WHITENOISE_MAX_AGE = 0 if DEBUG else 300

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
# A stuck mail server must not hang a worker.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

# --- Helpdesk --------------------------------------------------------------------------------
HELPDESK_MAX_MESSAGE_LENGTH = int(os.environ.get("HELPDESK_MAX_MESSAGE_LENGTH", "10000"))
HELPDESK_DEFAULT_CAPACITY = int(os.environ.get("HELPDESK_DEFAULT_CAPACITY", "3"))
# The largest websocket frame a server reads (uvicorn --ws-max-size): clients send small
# control messages, of at most 64 K characters (4 bytes each in UTF-8, at most). A larger
# frame closes the socket with 1009 as it arrives, instead of being read into memory whole.
HELPDESK_WS_MAX_BYTES = 256 * 1024
# Open websockets at once per customer token, and per staff user (docs/api.md "Websockets").
HELPDESK_WS_MAX_PER_CUSTOMER = int(os.environ.get("HELPDESK_WS_MAX_PER_CUSTOMER", "10"))
HELPDESK_WS_MAX_PER_AGENT = int(os.environ.get("HELPDESK_WS_MAX_PER_AGENT", "20"))
# How many proxies in front of the helpdesk append to X-Forwarded-For; 0: the header is
# ignored and the peer's address is the client's (conversations/throttling.py client_ip).
HELPDESK_TRUSTED_PROXIES = REST_FRAMEWORK["NUM_PROXIES"]
# Seconds /readyz waits for the database and Redis before it answers 503 (helpdesk/health.py).
HELPDESK_HEALTH_TIMEOUT = float(os.environ.get("HELPDESK_HEALTH_TIMEOUT", "2"))
HELPDESK_IDENTITY_SECRET = os.environ.get("HELPDESK_IDENTITY_SECRET", "")
# The base of links (resume links in emails). Unset, `manage.py serve` puts the address it
# serves on, else DEFAULT_PUBLIC_URL (helpdesk/public_url.py).
HELPDESK_PUBLIC_URL = os.environ.get("HELPDESK_PUBLIC_URL") or DEFAULT_PUBLIC_URL
# Email continuity (docs/email.md): replies to offline customers, inbound replies.
HELPDESK_EMAIL_DELAY_SECONDS = int(os.environ.get("HELPDESK_EMAIL_DELAY_SECONDS", "60"))
# A worker that died mid-send holds its replies this long; then another attempt takes them.
HELPDESK_EMAIL_CLAIM_LEASE_SECONDS = int(
    os.environ.get("HELPDESK_EMAIL_CLAIM_LEASE_SECONDS", "900")
)
# How overdue (beyond the delay) a reply's email must be before the sweep sends it instead.
HELPDESK_EMAIL_MISSED_GRACE_SECONDS = int(
    os.environ.get("HELPDESK_EMAIL_MISSED_GRACE_SECONDS", "120")
)
# A customer is asked "How likely are you to recommend us?" at most once in this many days
# (docs/widget.md "Satisfaction questions"); answering again sooner is refused (409).
HELPDESK_NPS_INTERVAL_DAYS = int(os.environ.get("HELPDESK_NPS_INTERVAL_DAYS", "90"))
# The most conversations one bulk action of the workspace changes (docs/workspace.md "Bulk
# actions"): each is one service call, so a batch is a request's work.
HELPDESK_BULK_MAX_IDS = int(os.environ.get("HELPDESK_BULK_MAX_IDS", "100"))
# A conversation the bot holds and the customer left this long is resolved without a human.
HELPDESK_BOT_IDLE_MINUTES = int(os.environ.get("HELPDESK_BOT_IDLE_MINUTES", "30"))
HELPDESK_RESUME_LINK_DAYS = int(os.environ.get("HELPDESK_RESUME_LINK_DAYS", "30"))
HELPDESK_INBOUND_SECRET = os.environ.get("HELPDESK_INBOUND_SECRET", "")
HELPDESK_INBOUND_DOMAIN = os.environ.get("HELPDESK_INBOUND_DOMAIN", "")
# Channels (docs/channels.md): where platforms' APIs are (an inbox's api_base_url overrides),
# whether webhook targets may be private addresses, and how replies are retried.
HELPDESK_GRAPH_API_BASE_URL = os.environ.get(
    "HELPDESK_GRAPH_API_BASE_URL", "https://graph.facebook.com/v21.0"
)
HELPDESK_TELEGRAM_API_BASE_URL = os.environ.get(
    "HELPDESK_TELEGRAM_API_BASE_URL", "https://api.telegram.org"
)
HELPDESK_WEBHOOK_ALLOW_PRIVATE = env_bool("HELPDESK_WEBHOOK_ALLOW_PRIVATE", default=False)
HELPDESK_CHANNEL_TIMEOUT_SECONDS = float(os.environ.get("HELPDESK_CHANNEL_TIMEOUT_SECONDS", "10"))
# The first retry after this many seconds, then twice as long each time (at most an hour).
HELPDESK_CHANNEL_RETRY_SECONDS = float(os.environ.get("HELPDESK_CHANNEL_RETRY_SECONDS", "30"))
HELPDESK_CHANNEL_MAX_RETRIES = int(os.environ.get("HELPDESK_CHANNEL_MAX_RETRIES", "8"))
# Files in conversations (docs/attachments.md): limits, the types taken (sniffed from the
# bytes), how long a download link works, and where files are kept.
HELPDESK_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("HELPDESK_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)
HELPDESK_ATTACHMENT_MAX_FILES = int(os.environ.get("HELPDESK_ATTACHMENT_MAX_FILES", "5"))
HELPDESK_ATTACHMENT_TYPES = env_list(
    "HELPDESK_ATTACHMENT_TYPES",
    ",".join(
        [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "image/heic",
            "application/pdf",
            "text/plain",
            "text/csv",
            "application/zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/msword",
            "application/vnd.ms-excel",
            "audio/mpeg",
            "video/mp4",
            "video/quicktime",
        ]
    ),
)
HELPDESK_ATTACHMENT_URL_SECONDS = int(os.environ.get("HELPDESK_ATTACHMENT_URL_SECONDS", "3600"))
# An agent's files go out attached to the reply email while they fit in this many bytes
# together; the others as signed links (docs/attachments.md "Email").
HELPDESK_ATTACHMENT_EMAIL_MAX_BYTES = int(
    os.environ.get("HELPDESK_ATTACHMENT_EMAIL_MAX_BYTES", str(5 * 1024 * 1024))
)
# A stored file no attachment holds (its message's transaction rolled back) is deleted once it
# is this old: younger, it may belong to a transaction still in flight.
HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS = float(
    os.environ.get("HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS", "24")
)
# Local files (the embedded mode), unless an S3-compatible bucket is named.
HELPDESK_ATTACHMENT_ROOT = Path(
    os.environ.get("HELPDESK_ATTACHMENT_ROOT") or BASE_DIR / "media" / "attachments"
)
HELPDESK_S3_BUCKET = os.environ.get("HELPDESK_S3_BUCKET", "")
if HELPDESK_S3_BUCKET:
    # Any S3-compatible store, through django-storages. Files are private (no ACL, no public
    # URL): downloads go through the helpdesk's own signed links, which check access first.
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": HELPDESK_S3_BUCKET,
            "endpoint_url": os.environ.get("HELPDESK_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("HELPDESK_S3_REGION") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID, an instance role, …).
            "access_key": os.environ.get("HELPDESK_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("HELPDESK_S3_SECRET_ACCESS_KEY") or None,
            "location": os.environ.get("HELPDESK_S3_PREFIX", "attachments"),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": HELPDESK_ATTACHMENT_ROOT, "base_url": None},
    }
# Sites that embed the widget (CORS and the customer websocket); by default the helpdesk's own.
_public = derived_settings(HELPDESK_PUBLIC_URL, env_list("HELPDESK_WIDGET_ORIGINS"))
HELPDESK_WIDGET_ORIGINS = _public["HELPDESK_WIDGET_ORIGINS"]

# CORS (django-cors-headers) only for the widget API, only for the embedding sites.
CORS_URLS_REGEX = r"^/api/v1/widget/"
CORS_ALLOWED_ORIGINS = _public["CORS_ALLOWED_ORIGINS"]
CORS_ALLOW_CREDENTIALS = False  # the widget sends a Bearer token, never cookies

# Cache: rate-limit counters. Redis when REDIS_URL is set (shared by all processes).
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one connection pool and client per process (helpdesk/redis_cache.py):
            # under ASGI each request would otherwise connect to Redis anew.
            "BACKEND": "helpdesk.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "helpdesk"),
            # A Redis that stops answering costs a request at most this long, once: the
            # cache then acts empty for a moment (helpdesk/redis_cache.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Content-Security-Policy (django-csp) on every page -----------------------------------------
# Scripts and styles come from the helpdesk's own static files only: no inline code, no
# eval. The widget's websocket goes to the helpdesk's own host, named for the browsers whose
# 'self' does not cover ws(s):. The widget on a customer's site lives under that site's CSP.
HELPDESK_SOCKET_ORIGIN = _public["HELPDESK_SOCKET_ORIGIN"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", HELPDESK_SOCKET_ORIGIN],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logs: readable text, or one JSON object per line (LOG_FORMAT=json) ------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("Set LOG_FORMAT to text or json.")
LOGGING_CONFIG = "helpdesk.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "helpdesk.logs.RequestContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "helpdesk.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
if LOG_FORMAT == "json":
    # uvicorn's own lines (start-up, errors, access) as JSON too, through the same handler.
    LOGGING["loggers"] = {
        name: {"handlers": ["console"], "propagate": False}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
