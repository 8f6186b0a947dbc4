"""TorchCanvas settings, read from the environment (see the README's configuration table).

With no environment at all this is a working development site: SQLite under ``var/``, an in-memory
channel layer, DEBUG on. ``TORCHCANVAS_ENV=production`` (or ``DEBUG=false``) switches to the hardened
mode, which needs ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and passes ``manage.py check --deploy``.
"""

from pathlib import Path

import dj_database_url
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from codegen.schema import custom_module_pattern_problem
from torchcanvas_site.cache import redis_cache
from torchcanvas_site.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_networks,
    env_rate,
    env_str,
)
from torchcanvas_site.staticfiles import immutable_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

# --- mode ---------------------------------------------------------------------------------------

TORCHCANVAS_ENV = env_choice("TORCHCANVAS_ENV", "development", {"development", "production"})
DEBUG = env_bool("DEBUG", default=TORCHCANVAS_ENV == "development")
if TORCHCANVAS_ENV == "production" and DEBUG:
    raise ImproperlyConfigured("DEBUG=true cannot be combined with TORCHCANVAS_ENV=production.")
PRODUCTION = not DEBUG

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production (50+ random characters).")
    SECRET_KEY = "django-insecure-torchcanvas-development-only-never-use-in-production"
elif PRODUCTION and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
):
    # Django's own criteria (check --deploy, security.W009), enforced instead of merely warned about.
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak for production: it needs {SECRET_KEY_MIN_LENGTH}+ characters, "
        f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS}+ of them different, and no {SECRET_KEY_INSECURE_PREFIX!r} prefix "
        "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))' makes one)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production (comma-separated host names).")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entries need a scheme (https://...); got {_origin!r}.")

# --- applications -------------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves the ASGI application (HTTP and WebSocket)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "graphs",
    "training",
    "torchcanvas_site",  # its ready() connects the log-in and password signals
]

MIDDLEWARE = [
    # First, so that every response gets the policy, error pages included.
    "torchcanvas_site.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "torchcanvas_site.throttling.PageThrottleMiddleware",  # after authentication: logged-in users count per user
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "torchcanvas_site.urls"
ASGI_APPLICATION = "torchcanvas_site.asgi.application"

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

# --- data ---------------------------------------------------------------------------------------

_database_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        conn_health_checks=True,
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django can use: {exc}") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the in-process run worker write concurrently: WAL plus IMMEDIATE transactions
    # turn "database is locked" errors into short waits.
    _database["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL is not None and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://; got {REDIS_URL!r}.")

if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    # Shared across processes, so throttling counts every request, not one process's share. While Redis is
    # away, it falls back to this process's memory (torchcanvas_site/cache.py).
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- engine caps --------------------------------------------------------------------------------

TORCHCANVAS_LIMITS = {
    "max_nodes": env_int("TORCHCANVAS_MAX_NODES", 5000, minimum=1),
    "max_edges": env_int("TORCHCANVAS_MAX_EDGES", 20000, minimum=0),
    "max_body_bytes": env_int("TORCHCANVAS_MAX_BODY_BYTES", 2_000_000, minimum=1024),
    # CustomModule classes this deployment may build (pkg.module.Class or pkg.*): matched as text, never
    # imported by the web server; only run workers, which must have the package installed, import them.
    "custom_modules": tuple(env_list("TORCHCANVAS_CUSTOM_MODULES")),
}
_module_problems = [custom_module_pattern_problem(p) for p in TORCHCANVAS_LIMITS["custom_modules"]]
if any(_module_problems):
    raise ImproperlyConfigured(f"TORCHCANVAS_CUSTOM_MODULES: {next(p for p in _module_problems if p)}.")
# Comparing the generated code of two versions generates both (about a second at 5,000 nodes): anonymous
# callers get it for graphs up to this many nodes (graphs/version_diff.py).
TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES = env_int("TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES", 1000, minimum=0)
# Django's own cap on request bodies agrees with the API's, so no path accepts more than the engine would.
DATA_UPLOAD_MAX_MEMORY_SIZE = TORCHCANVAS_LIMITS["max_body_bytes"]

# --- runs (training/) and Celery ---------------------------------------------------------------

# embedded: runs execute in a background thread of the web process (no broker; one process);
# celery: runs are sent to Celery workers through Redis (queues "gpu" and "cpu").
TORCHCANVAS_RUN_MODE = env_choice("TORCHCANVAS_RUN_MODE", "celery" if REDIS_URL else "embedded", {"embedded", "celery"})
if TORCHCANVAS_RUN_MODE == "celery" and not REDIS_URL:
    raise ImproperlyConfigured(
        "TORCHCANVAS_RUN_MODE=celery needs REDIS_URL: it is the broker, and workers send progress through "
        "the Redis channel layer."
    )

_run_time_limit = env_int("TORCHCANVAS_RUN_TIME_LIMIT", 900, minimum=10)
TORCHCANVAS_RUNS = {
    # Caps, checked before a run is queued and again on the worker.
    "max_steps": env_int("TORCHCANVAS_RUN_MAX_STEPS", 1000, minimum=1),
    "max_batch_size": env_int("TORCHCANVAS_RUN_MAX_BATCH_SIZE", 512, minimum=1),
    "max_params": env_int("TORCHCANVAS_RUN_MAX_PARAMS", 200_000_000, minimum=1),
    "max_memory_bytes": env_int("TORCHCANVAS_RUN_MAX_MEMORY_MB", 24_576, minimum=1) * 2**20,
    "time_limit_s": _run_time_limit,
    "max_concurrent": env_int("TORCHCANVAS_RUN_MAX_CONCURRENT", 2, minimum=1),
    # Ablation matrices and sweeps (training/run_sets.py) are capped as a whole, not per run.
    "max_set_runs": env_int("TORCHCANVAS_RUN_MAX_SET_RUNS", 8, minimum=2),
    "max_set_steps": env_int("TORCHCANVAS_RUN_MAX_SET_STEPS", 4000, minimum=1),
    "max_active_sets": env_int("TORCHCANVAS_RUN_MAX_ACTIVE_SETS", 1, minimum=1),
    # Liveness: a running run's worker writes a heartbeat; the sweeper acts on silent ones.
    "heartbeat_interval_s": env_int("TORCHCANVAS_RUN_HEARTBEAT_INTERVAL", 10, minimum=1),
    "heartbeat_timeout_s": env_int("TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT", 90, minimum=3),
    "max_attempts": env_int("TORCHCANVAS_RUN_MAX_ATTEMPTS", 2, minimum=1),
    "resend_after_s": env_int("TORCHCANVAS_RUN_RESEND_AFTER", 300, minimum=10),
    "queue_timeout_s": env_int("TORCHCANVAS_RUN_QUEUE_TIMEOUT", 3600, minimum=60),
    # Where device "auto" runs go in celery mode.
    "auto_queue": env_choice("TORCHCANVAS_RUN_AUTO_QUEUE", "cpu", {"cpu", "gpu"}),
    # The share of each GPU one worker process may allocate (None: all of it).
    "gpu_memory_fraction": env_float("TORCHCANVAS_GPU_MEMORY_FRACTION", None, minimum=0.01, maximum=1.0),
    # A running run saves a checkpoint after every epoch and, inside long epochs, this often: a worker killed
    # mid-run costs at most this much training when its run resumes elsewhere.
    "checkpoint_interval_s": env_int("TORCHCANVAS_RUN_CHECKPOINT_INTERVAL", 60, minimum=1),
}
# Heavy exports of a version (ONNX, torch.export, TorchScript; graphs/artifacts.py), built by workers.
TORCHCANVAS_EXPORTS = {
    # The Celery queue their builds go to in celery mode (exports run on the CPU wherever they run).
    "queue": env_choice("TORCHCANVAS_EXPORT_QUEUE", "cpu", {"cpu", "gpu"}),
    "time_limit_s": env_int("TORCHCANVAS_EXPORT_TIME_LIMIT", 1800, minimum=30),
    # A build silent this long (no progress) is taken for lost: asking for the artifact again rebuilds it.
    "stale_after_s": env_int("TORCHCANVAS_EXPORT_STALE_AFTER", 900, minimum=60),
}
# Uploaded datasets (training/datasets.py): caps checked on upload, before anything is stored.
TORCHCANVAS_DATASETS = {
    # An upload's body (the dataset routes only; every other route keeps TORCHCANVAS_MAX_BODY_BYTES).
    "max_upload_bytes": env_int("TORCHCANVAS_DATASET_MAX_BYTES", 100_000_000, minimum=1024),
    # A ZIP's (or NPZ's) content once uncompressed: declared sizes are checked first, real bytes while reading.
    "max_uncompressed_bytes": env_int("TORCHCANVAS_DATASET_MAX_UNCOMPRESSED_BYTES", 500_000_000, minimum=1024),
    "max_files": env_int("TORCHCANVAS_DATASET_MAX_FILES", 100_000, minimum=1),
    "max_columns": env_int("TORCHCANVAS_DATASET_MAX_COLUMNS", 10_000, minimum=2),
    "max_classes": env_int("TORCHCANVAS_DATASET_MAX_CLASSES", 1_000, minimum=2),
    # Images are brought to the first image's size, each side capped at this.
    "max_image_side": env_int("TORCHCANVAS_DATASET_MAX_IMAGE_SIDE", 256, minimum=1),
}
# torch threads per run in a worker (and the embedded worker); unset: the cores divided among its runs.
TORCHCANVAS_WORKER_THREADS = env_int("TORCHCANVAS_WORKER_THREADS", None, minimum=1)
if TORCHCANVAS_RUNS["heartbeat_timeout_s"] < 3 * TORCHCANVAS_RUNS["heartbeat_interval_s"]:
    raise ImproperlyConfigured(
        "TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT must be at least three heartbeat intervals "
        f"(3 × TORCHCANVAS_RUN_HEARTBEAT_INTERVAL = {3 * TORCHCANVAS_RUNS['heartbeat_interval_s']} s)."
    )

# The runner stops at the run's own time limit; Celery's soft limit (an exception in the task) covers a
# step that never returns, the hard limit (the process is killed) a task that ignores even that.
RUN_SOFT_TIME_LIMIT_MARGIN_S = 60
RUN_HARD_TIME_LIMIT_MARGIN_S = 120
CELERY_BROKER_URL = REDIS_URL
# Workers report CPU, RAM and GPU figures this often (training/monitor.py); three missed: gone from the monitor.
TORCHCANVAS_MONITOR_INTERVAL_S = env_int("TORCHCANVAS_MONITOR_INTERVAL_S", 3, minimum=1)
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True  # the database holds every outcome
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {"training.tasks.*": {"queue": "cpu"}}  # execute_run is sent to "gpu" or "cpu" explicitly
CELERY_TASK_ACKS_LATE = True  # a message is acknowledged after its task, so a lost worker's run is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a busy worker holds no second run another worker could start
CELERY_TASK_SOFT_TIME_LIMIT = _run_time_limit + RUN_SOFT_TIME_LIMIT_MARGIN_S
CELERY_TASK_TIME_LIMIT = _run_time_limit + RUN_HARD_TIME_LIMIT_MARGIN_S
# Redis re-delivers an unacknowledged message after this long: more than the hard limit, or a run still
# executing would be delivered to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending happens in the web request: give up quickly when Redis is away (the sweeper sends again).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {"task": "training.tasks.sweep_runs", "schedule": 60.0, "options": {"expires": 55}},
}

# --- auth, i18n, static -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one before the first collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Built exports (ONNX, torch.export, TorchScript): written by workers, read by the web process, so both
    # must see the same storage (a shared volume, or any Django storage backend, e.g. django-storages' S3).
    "artifacts": {
        "BACKEND": env_str("TORCHCANVAS_ARTIFACT_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object(
            "TORCHCANVAS_ARTIFACT_STORAGE_OPTIONS",
            {"location": env_str("TORCHCANVAS_ARTIFACT_DIR", str(VAR_DIR / "artifacts"))},
        ),
    },
    # Uploaded datasets: read by the web process (preview) and by workers (training), like "artifacts".
    "datasets": {
        "BACKEND": env_str("TORCHCANVAS_DATASET_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object(
            "TORCHCANVAS_DATASET_STORAGE_OPTIONS",
            {"location": env_str("TORCHCANVAS_DATASET_DIR", str(VAR_DIR / "datasets"))},
        ),
    },
    # Runs' checkpoints and trained weights: written by workers (any of which may resume a run), read by the web
    # process (weight downloads), so shared like "artifacts".
    "checkpoints": {
        "BACKEND": env_str("TORCHCANVAS_CHECKPOINT_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object(
            "TORCHCANVAS_CHECKPOINT_STORAGE_OPTIONS",
            {"location": env_str("TORCHCANVAS_CHECKPOINT_DIR", str(VAR_DIR / "checkpoints"))},
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "torchcanvas_site.staticfiles.ManifestStaticFilesStorage"  # Django's hashed names; Vite's for the canvas
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_IMMUTABLE_FILE_TEST = immutable_file  # hashed names are cached forever, Vite's included

# --- who is asking, and how often (torchcanvas_site/throttling.py) -------------------------------

# Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs). With none, the client is the address
# that connected: a header anyone can send must not choose whose throttle counter a request uses.
TORCHCANVAS_TRUSTED_PROXIES = env_networks("TORCHCANVAS_TRUSTED_PROXIES")
# Failed log-ins (pages, admin and POST /api/auth/token/ alike) within a sliding window; past either count,
# log-ins are refused, even with the right password, until enough failures leave the window.
TORCHCANVAS_LOGIN_FAILURES = {
    "window_s": env_int("TORCHCANVAS_LOGIN_FAILURE_WINDOW", 900, minimum=1),
    "per_address": env_int("TORCHCANVAS_LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1),
    "per_username": env_int("TORCHCANVAS_LOGIN_FAILURES_PER_USERNAME", 10, minimum=1),
}

# --- API ----------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "not logged in" and "bad token" a 401 (a 403 stays
    # "logged in, not allowed"); browsers without an Authorization header fall through to the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["torchcanvas_site.api.CappedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "torchcanvas_site.throttling.AnonThrottle",
        "torchcanvas_site.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("TORCHCANVAS_THROTTLE_ANON", "600/min"),
        "user": env_rate("TORCHCANVAS_THROTTLE_USER", "3000/min"),
        # POST /api/auth/token/ (password in, token out): slow enough to make guessing passwords pointless.
        "auth": env_rate("TORCHCANVAS_THROTTLE_AUTH", "20/min"),
        # Not the API, but the same counters: sign-up posts per client address, HTML page requests per
        # client address (anonymous) or per user (PageThrottleMiddleware).
        "signup": env_rate("TORCHCANVAS_THROTTLE_SIGNUP", "10/hour"),
        "page_anon": env_rate("TORCHCANVAS_THROTTLE_PAGE_ANON", "300/min"),
        "page_user": env_rate("TORCHCANVAS_THROTTLE_PAGE_USER", "1200/min"),
    },
    "EXCEPTION_HANDLER": "torchcanvas_site.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# The fonts of static/css/app.css: the system's own, nothing to download.
SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif'
SYSTEM_MONO_FONTS = 'ui-monospace, SFMono-Regular, "JetBrains Mono", Menlo, Consolas, monospace'
SPECTACULAR_SETTINGS = {
    "TITLE": "TorchCanvas API",
    "DESCRIPTION": "Validate PyTorch model graphs with shape inference and export clean PyTorch source.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # "kind" is also a field of other components, with other choices: the datasets' enum gets its own name.
    "ENUM_NAME_OVERRIDES": {"DatasetKindEnum": "training.datasets.KINDS", "RunSetKindEnum": "training.models.SetKind"},
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Redoc's theme names Roboto and Montserrat, web fonts the page never loads: the site's own system fonts.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "colors": {"primary": {"main": "#ee4c2c"}},
            "typography": {
                "fontFamily": SYSTEM_FONTS,
                "headings": {"fontFamily": SYSTEM_FONTS},
                "code": {"fontFamily": SYSTEM_MONO_FONTS},
            },
        },
    },
}

# Content-Security-Policy (torchcanvas_site/csp.py); report-only to try a change without enforcing it.
CSP_REPORT_ONLY = env_bool("TORCHCANVAS_CSP_REPORT_ONLY", False)

# --- production hardening -----------------------------------------------------------------------

if PRODUCTION:
    # Behind a TLS-terminating proxy that redirects by itself, set SECURE_SSL_REDIRECT=false and
    # TRUST_X_FORWARDED_PROTO=true.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS = ["security.W008"]  # the proxy redirects, by the operator's explicit choice
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Replaces Django's own console handler for its loggers, so each line is printed once.
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}
