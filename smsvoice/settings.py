"""Settings, all read from the environment.

With nothing configured the app runs the embedded demo: SQLite, Celery tasks run in-process,
outbox providers that record texts, calls and payments instead of sending them, console email.
Setting DATABASE_URL, CELERY_BROKER_URL, TWILIO_* and STRIPE_* switches to the real services.
A value that cannot be understood stops the process at start-up instead of being guessed.
"""

import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A boolean that refuses anything but the usual spellings, so DEBUG=flase fails loudly."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env.str(name, default=default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {sorted(choices)}")
    return value


def env_database(name: str, default: str) -> dict:
    """A database URL; an unknown scheme or a malformed URL stops the start naming the variable
    (django-environ alone would pass the scheme on as a backend name and fail far from here)."""
    raw = env.str(name, default=default).strip()
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in environ.Env.DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has no known database scheme ({scheme or 'none'!r}): use "
            "postgres://user:password@host:5432/name or sqlite:////absolute/path.sqlite3"
        )
    try:
        return environ.Env.db_url_config(raw)
    except (ValueError, ImproperlyConfigured) as error:
        raise ImproperlyConfigured(f"{name} is not a usable database URL: {error}") from None


DEBUG = env_bool("DEBUG", True)

_DEMO_SECRET = "demo-only-secret-key-never-use-in-production-0123456789-abcdefghij"
# A blank SECRET_KEY (a .env copied from .env.example and not filled in yet) counts as unset.
SECRET_KEY = env.str("SECRET_KEY", default="").strip() or (_DEMO_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
if not DEBUG and SECRET_KEY == _DEMO_SECRET:
    raise ImproperlyConfigured("SECRET_KEY is the demo key: set a real one when DEBUG is off")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address Twilio and Stripe call back; also what webhook signatures are checked against.
# Unset, it is the demo's own address: `make run PORT=8100` serves on 127.0.0.1:8100.
PORT = env_int("PORT", 8000, minimum=1)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "smsvoice",
    "families",
    "credits",
    "broadcasts",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A NUL character in a path, query, form field or cookie is a 400 (PostgreSQL refuses it).
    "smsvoice.http.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "smsvoice.tenancy.OrganizationMiddleware",
    # Pages show times in the organization's time zone (smsvoice/localtime.py).
    "smsvoice.localtime.OrganizationTimezoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smsvoice.urls"
WSGI_APPLICATION = "smsvoice.wsgi.application"
ASGI_APPLICATION = "smsvoice.asgi.application"

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
                "smsvoice.tenancy.organization_context",
                "credits.context.sending_suspension",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The demo's web server and in-process tasks write from several threads.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
elif "options" not in DATABASES["default"].setdefault("OPTIONS", {}):
    # PostgreSQL's JIT compiles any query its planner thinks costly, which a list page over
    # 50,000 families is; compiling took longer than running (bench/list_pages.py: 0.5 of 1 s).
    # A DATABASE_URL with ?options=... decides for itself.
    DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
# Parallel test runs on one server (helpers, CI) keep apart by giving each its own test database.
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=60)

# Login rate limiting (django-axes), for the staff and the parent portal logins alike: after
# AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused
# for AXES_COOLOFF_MINUTES. Its backend must come first; it only checks, ModelBackend logs in.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "portal.access.client_ip"
AXES_USERNAME_CALLABLE = "portal.access.login_username"
# How many reverse proxies of ours stand in front of the app. 0: the client is REMOTE_ADDR.
# N: the client is the N-th address from the right of X-Forwarded-For, the one our outermost
# proxy saw (addresses further left are whatever the client chose to send). Used for login
# rate limiting and for the IP address kept with a parent's consent.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Files served at the site's root, for clients that ask there without reading the page:
# /favicon.ico (the pages themselves link static/favicon.svg).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="smsvoice <no-reply@smsvoice.test>")
if env.str("EMAIL_URL", default=""):
    # smtp+tls://user:password@host:587 — overrides EMAIL_BACKEND.
    vars().update(env.email_url("EMAIL_URL"))

# --- Celery: no broker means tasks run in-process (the embedded demo). ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# Credits: Australia's monthly fee (checked every few hours, charged once per organization and
# month) and the sweep that finishes purchases whose task was lost.
CELERY_BEAT_SCHEDULE["credits-monthly-fees"] = {
    "task": "credits.tasks.monthly_fees_charge",
    "schedule": 6 * 60 * 60,  # seconds
}
CELERY_BEAT_SCHEDULE["credits-purchases-sweep"] = {
    "task": "credits.tasks.purchases_sweep",
    "schedule": 10 * 60,
}

# --- Providers: empty keys mean the outbox, which records instead of sending. ---
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com").rstrip("/")
# Twilio's other hosts (Messaging Services and A2P registration, Trust Hub, Lookup), redirected
# the same way: tests and the contract check point them at local servers.
TWILIO_MESSAGING_API_BASE = env.str(
    "TWILIO_MESSAGING_API_BASE", default="https://messaging.twilio.com"
).rstrip("/")
TWILIO_TRUSTHUB_API_BASE = env.str(
    "TWILIO_TRUSTHUB_API_BASE", default="https://trusthub.twilio.com"
).rstrip("/")
TWILIO_LOOKUPS_API_BASE = env.str(
    "TWILIO_LOOKUPS_API_BASE", default="https://lookups.twilio.com"
).rstrip("/")
# Seconds a Twilio request may take before it counts as failed (retryable), and the size of the
# gateway's HTTP connection pool: at least as many as the threads sending at once.
TWILIO_TIMEOUT = env_int("TWILIO_TIMEOUT", 15, minimum=1)
TWILIO_MAX_CONNECTIONS = env_int("TWILIO_MAX_CONNECTIONS", 200, minimum=1)
SMS_BACKEND = env_choice(
    "SMS_BACKEND", "twilio" if TWILIO_ACCOUNT_SID else "outbox", {"twilio", "outbox"}
)
if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN):
    raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")

# Sending: how many messages a sending number may send per second (Twilio's limit for the
# number type), requests in flight per worker process, and tries before a message fails.
SMS_DEFAULT_MPS = env_int("SMS_DEFAULT_MPS", 100, minimum=1)
SMS_SEND_CONCURRENCY = env_int("SMS_SEND_CONCURRENCY", 250, minimum=1)
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 4, minimum=1)

# The sending engine (broadcasts/engine): each slice a worker takes of a sender's work covers
# what the sender's budget allows in the next ENGINE_HORIZON_SECONDS, at most ENGINE_SLICE_MAX
# messages, paced at ENGINE_RATE_HEADROOM of the number's rate; a claim is a lease of
# ENGINE_LEASE_SECONDS (renewed while sending), reconciled by the sweep only after
# ENGINE_LEASE_GRACE_SECONDS more. Broadcasts of at most ENGINE_PRIORITY_MAX_RECIPIENTS (or
# marked urgent) go in the priority lane. A message not sent within ENGINE_VALIDITY_SECONDS of
# its broadcast's start fails and is refunded. Back-pressure without a Retry-After waits
# ENGINE_BACK_PRESSURE_SECONDS. The sweep runs every ENGINE_SWEEP_SECONDS (celery beat).
ENGINE_HORIZON_SECONDS = env_float("ENGINE_HORIZON_SECONDS", 0.5, minimum=0.05)
ENGINE_SLICE_MAX = env_int("ENGINE_SLICE_MAX", 1000, minimum=1)
ENGINE_RATE_HEADROOM = env_float("ENGINE_RATE_HEADROOM", 0.95, minimum=0.1)
# Senders faster than this are sent by several workers at once; slower ones by one at a time.
ENGINE_PARALLEL_MIN_RATE = env_float("ENGINE_PARALLEL_MIN_RATE", 200.0, minimum=1.0)
ENGINE_LEASE_SECONDS = env_int("ENGINE_LEASE_SECONDS", 45, minimum=20)
ENGINE_LEASE_GRACE_SECONDS = env_int("ENGINE_LEASE_GRACE_SECONDS", 5, minimum=0)
ENGINE_PRIORITY_MAX_RECIPIENTS = env_int("ENGINE_PRIORITY_MAX_RECIPIENTS", 100, minimum=0)
ENGINE_VALIDITY_SECONDS = env_int("ENGINE_VALIDITY_SECONDS", 4 * 60 * 60, minimum=60)
ENGINE_BACK_PRESSURE_SECONDS = env_float("ENGINE_BACK_PRESSURE_SECONDS", 1.0, minimum=0.05)
ENGINE_FLUSH_SECONDS = env_float("ENGINE_FLUSH_SECONDS", 0.25, minimum=0.01)
ENGINE_WAKE_GRACE_SECONDS = env_float("ENGINE_WAKE_GRACE_SECONDS", 3.0, minimum=0.5)
ENGINE_INLINE_WAIT_SECONDS = env_float("ENGINE_INLINE_WAIT_SECONDS", 10.0, minimum=0)
ENGINE_SWEEP_SECONDS = env_int("ENGINE_SWEEP_SECONDS", 10, minimum=1)
# A slice due sooner than this is queued at once (it waits for its first token itself); later
# ones are Celery countdowns.
ENGINE_COUNTDOWN_MIN_SECONDS = env_float("ENGINE_COUNTDOWN_MIN_SECONDS", 0.3, minimum=0.0)
# Celery on Redis: priorities are separate lists checked in order (lower number first), so
# slices of small or urgent broadcasts overtake bulk ones waiting in the queue.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}
CELERY_BEAT_SCHEDULE["broadcasts-sweep"] = {
    "task": "broadcasts.tasks.broadcasts_sweep",
    "schedule": float(ENGINE_SWEEP_SECONDS),
}
# Messaging Services (issue 11): finish set-ups and number releases a Twilio failure left.
CELERY_BEAT_SCHEDULE["messaging-services-sweep"] = {
    "task": "broadcasts.tasks.messaging_services_sweep",
    "schedule": 10 * 60.0,
}

# Voice broadcasts (US and Canada): the longest recording staff may make by phone (seconds),
# how many times a busy or unanswered number is dialed again and how long after, and the
# voice that reads prompts and, unless staff choose another, text-to-speech messages.
VOICE_MAX_RECORDING_SECONDS = env_int("VOICE_MAX_RECORDING_SECONDS", 300, minimum=10)
VOICE_MAX_RETRIES = env_int("VOICE_MAX_RETRIES", 2, minimum=0)
VOICE_RETRY_DELAY_SECONDS = env_int("VOICE_RETRY_DELAY_SECONDS", 300, minimum=0)
VOICE_TTS_VOICES = {  # Twilio <Say> voice: its language
    "Polly.Joanna": "en-US",
    "Polly.Matthew": "en-US",
    "Polly.Lupe": "es-US",
    "Polly.Miguel": "es-US",
    "Polly.Chantal": "fr-CA",
}
VOICE_TTS_VOICE = env_choice("VOICE_TTS_VOICE", "Polly.Joanna", set(VOICE_TTS_VOICES))
VOICE_TTS_LANGUAGE = VOICE_TTS_VOICES[VOICE_TTS_VOICE]
# After a broadcast call's message, listen a few seconds for a spoken "stop calling" (besides
# the 9 key): a revocation by reasonable means. Twilio bills speech recognition for it.
VOICE_SPOKEN_OPT_OUT = env_bool("VOICE_SPOKEN_OPT_OUT", True)
CELERY_BEAT_SCHEDULE["voice-sweep"] = {
    "task": "broadcasts.tasks.voice_sweep",
    "schedule": 60.0,
}
# US carrier registration (issue 11): brands, campaigns and toll-free verifications have no
# status callback, so their status is asked for every REGISTRATION_REFRESH_SECONDS.
REGISTRATION_REFRESH_SECONDS = env_int("REGISTRATION_REFRESH_SECONDS", 15 * 60, minimum=1)
CELERY_BEAT_SCHEDULE["registration-refresh"] = {
    "task": "broadcasts.registration.tasks.registrations_refresh",
    "schedule": float(REGISTRATION_REFRESH_SECONDS),
}

# Conversations (issue 13): how often the navigation's unread count is asked for (seconds),
# and the hourly email of new conversations to staff who opt in.
CONVERSATIONS_POLL_SECONDS = env_int("CONVERSATIONS_POLL_SECONDS", 20, minimum=1)
CELERY_IMPORTS = ["broadcasts.conversations.tasks"]
CELERY_BEAT_SCHEDULE["conversations-digest"] = {
    "task": "broadcasts.conversations.tasks.conversations_digest",
    "schedule": 60 * 60.0,
}

# CSV import of families (issue 14): the largest file taken (rows, bytes) and how many
# families each of the import task's transactions writes.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20_000, minimum=1)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
IMPORT_CHUNK_FAMILIES = env_int("IMPORT_CHUNK_FAMILIES", 100, minimum=1)
# An import's uploaded file is removed this many days after the import finished (or after the
# upload, when it was never imported); its counts and report stay. Checked daily.
IMPORT_FILE_RETENTION_DAYS = env_int("IMPORT_FILE_RETENTION_DAYS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["import-files-purge"] = {
    "task": "families.importing.tasks.directory_import_files_purge",
    "schedule": 24 * 60 * 60.0,
}

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")
PAYMENTS_BACKEND = env_choice(
    "PAYMENTS_BACKEND", "stripe" if STRIPE_SECRET_KEY else "outbox", {"stripe", "outbox"}
)

# --- Credits: whole US cents per credit by organization country (never floats). ---
CREDIT_PRICE_CENTS = {
    "US": env_int("CREDIT_PRICE_CENTS_US", 3, minimum=1),
    "CA": env_int("CREDIT_PRICE_CENTS_CA", 3, minimum=1),
    "AU": env_int("CREDIT_PRICE_CENTS_AU", 8, minimum=1),
}
AU_MONTHLY_FEE_CENTS = env_int("AU_MONTHLY_FEE_CENTS", 1000, minimum=0)
CREDIT_PACKS = (500, 1000, 2500, 5000, 10000)
CREDIT_CUSTOM_MIN = 100
CREDIT_CUSTOM_MAX = 100_000
AUTO_RECHARGE_MAX_FAILURES = 3

REST_FRAMEWORK = {
    # Another system's API key (Authorization: Bearer …) first, then the browser's session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smsvoice.api_keys.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["smsvoice.api_keys.APIKeyRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["smsvoice.tenancy.IsStaffOfOrganization"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus the 400/403/404 answers every view can give (smsvoice/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "smsvoice.api_schema.AutoSchema",
    # Unusable input raised below a view (smsvoice.errors.BadInput) is a 400, never a 500.
    "EXCEPTION_HANDLER": "smsvoice.errors.exception_handler",
    # JSON bodies are parsed with limits on size and nesting: a deeply nested body is a 400,
    # not a RecursionError deep in the parser.
    # The API speaks JSON only (another content type is a 415), as its schema says.
    "DEFAULT_PARSER_CLASSES": ["smsvoice.parsers.JSONParser"],
}
API_JSON_MAX_DEPTH = 20
# Requests one API key may make per clock minute (429 with Retry-After past it).
API_KEY_RATE_PER_MINUTE = env_int("API_KEY_RATE_PER_MINUTE", 300, minimum=1)
# An API key's "last used" is written at most this often, not on every request.
API_KEY_LAST_USED_SECONDS = 60
API_JSON_MAX_BYTES = 1024 * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "smsvoice API",
    "DESCRIPTION": "Families, students, staff, selections, broadcasts and credits.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for staff, like the API they describe.
    "SERVE_PERMISSIONS": ["smsvoice.tenancy.IsStaffOfOrganization"],
    # Swagger UI is served from our own static files (drf-spectacular-sidecar), not a CDN:
    # the docs work offline and under our Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Families and students both have a "status": each its own named enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "FamilyStatusEnum": "families.models.Family.Status",
        "StudentStatusEnum": "families.models.Student.Status",
        "ConversationStatusEnum": "broadcasts.conversations.models.Conversation.Status",
    },
}

# --- Content-Security-Policy (django-csp): scripts and styles from this site only, no inline
# script or style anywhere (behaviour lives in static/js, looks in static/css), no framing. With
# live Stripe keys the card page loads Stripe.js and its frames, so Stripe's origins are allowed.
_STRIPE_JS = ["https://js.stripe.com", "https://*.js.stripe.com"]
_LIVE_STRIPE = PAYMENTS_BACKEND == "stripe"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *(_STRIPE_JS if _LIVE_STRIPE else [])],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *(["https://*.stripe.com"] if _LIVE_STRIPE else [])],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *(["https://api.stripe.com"] if _LIVE_STRIPE else [])],
        "frame-src": [*_STRIPE_JS, "https://hooks.stripe.com"] if _LIVE_STRIPE else ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors_on_one_line": {"()": "smsvoice.logs.ClientErrorsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" its own console handler too: with root's, every
        # record of a django.* logger was printed twice. Root's handler alone prints them.
        "django": {"handlers": [], "level": LOG_LEVEL},
        # A 403 or 404 is one line (path and reason), not a traceback; see smsvoice/logs.py.
        "django.request": {"filters": ["client_errors_on_one_line"]},
        "django.db.backends": {"level": "WARNING"},
    },
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain and its subdomains to HTTPS for months and is slow
        # to undo, so it is the operator's explicit choice; leaving it off is not a warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
