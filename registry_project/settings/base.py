"""Settings, read from the environment with embedded defaults for a laptop.

Everything is configured here through one ``env`` object; see the configuration table in README.md.
"""

import secrets
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from registry_project.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("REGISTRY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret_key() -> str:
    """Return a secret key generated once and kept under var/ (development only)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL when behind a proxy that rewrites Host (used for absolute links in metadata).
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_celery_beat",
    "storage",
    "audit",
    "access",
    "formats",
    "web",
]
# Format plugins, by AppConfig path. REGISTRY_FORMATS selects a subset.
FORMAT_APPS = {
    "raw": "formats.raw.apps.RawConfig",
    "pypi": "formats.pypi.apps.PypiConfig",
    "npm": "formats.npm.apps.NpmConfig",
    "maven": "formats.maven.apps.MavenConfig",
    "oci": "formats.oci.apps.OciConfig",
}
INSTALLED_APPS += [FORMAT_APPS[f] for f in env.list("REGISTRY_FORMATS", default=list(FORMAT_APPS))]

MIDDLEWARE = [
    "registry_project.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "web.middleware.TooManyAttemptsMiddleware",
    "access.middleware.AuditScopeMiddleware",
]
# What package clients' requests go through (registry_project/wsgi.py): they carry no session.
CLIENT_MIDDLEWARE = [
    "registry_project.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",  # sets Content-Length: no chunked answers
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "access.middleware.AuditScopeMiddleware",
]
# Package clients do not follow slash redirects on PUT; formats decide their own URLs.
APPEND_SLASH = False

ROOT_URLCONF = "registry_project.urls"
WSGI_APPLICATION = "registry_project.wsgi.application"

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
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web server, workers and tests share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# Persistent connections: a request should not pay for a new connection (or SQLite's PRAGMAs).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Blob store.
BLOB_STORE_DIR = Path(env.str("BLOB_STORE_DIR", default=str(VAR_DIR / "blobs")))
# An S3-compatible object store instead of BLOB_STORE_DIR (which then keeps only temporary
# files): s3://bucket/prefix, with the standard AWS_* variables; see README "Object storage".
BLOB_STORE_URL = env.str("BLOB_STORE_URL", default="")
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="")
AWS_REGION = env.str("AWS_REGION", default="")
# stream (through the web process) | x-accel (nginx, filesystem) | redirect (presigned, S3)
BLOB_SERVE_MODE = env.str("BLOB_SERVE_MODE", default="stream")
BLOB_REDIRECT_SECONDS = env.int("BLOB_REDIRECT_SECONDS", default=300)
BLOB_X_ACCEL_PREFIX = env.str("BLOB_X_ACCEL_PREFIX", default="/_blobs/")
BLOB_GC_GRACE_SECONDS = env.int("BLOB_GC_GRACE_SECONDS", default=3600)
# Streamed uploads (files, layers, tarballs) larger than this are refused with 413.
REGISTRY_MAX_UPLOAD_SIZE = env.int("REGISTRY_MAX_UPLOAD_SIZE", default=20 * 1024**3)
# Per web process: memory kept for the bytes of generated documents (formats.document_cache).
DOCUMENT_CACHE_BYTES = env.int("DOCUMENT_CACHE_BYTES", default=64 * 1024**2)
# Bodies that protocols must parse in memory (JSON, XML, form fields).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("REGISTRY_MAX_DOCUMENT_SIZE", default=256 * 1024**2)
# Proxy repositories: how long an upstream may take, and which cold files are verified before
# their first byte is sent (larger ones stream to the first client while they are hashed).
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=5.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=30.0)
UPSTREAM_CA_FILE = env.str("UPSTREAM_CA_FILE", default="")  # extra CAs besides the system's
PROXY_VERIFY_FIRST_SIZE = env.int("PROXY_VERIFY_FIRST_SIZE", default=64 * 1024**2)
# How long a request waits for another one fetching the same file or document.
PROXY_FLIGHT_WAIT_SECONDS = env.float("PROXY_FLIGHT_WAIT_SECONDS", default=600.0)
# Multipart file parts go straight to disk, next to the blob store so ingest is a rename.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_TEMP_DIR = str(BLOB_STORE_DIR / "tmp")  # same disk: ingest is a rename
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "storage.uploadhandlers.LockedTemporaryFileUploadHandler",  # the GC sweep skips them
]

# Celery: without a broker, tasks run in process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
# The periodic tasks live in the database (registry_project/schedules.py), where the admin
# console and /api/v1/schedules/ change them. These are the defaults: an entry is created when
# it has no row yet, never written over one (beat's DatabaseScheduler, the in-process schedule
# and `manage.py bootstrap` install them).
CELERY_BEAT_SCHEDULER = "registry_project.beat:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Unlinks what no image needs; blob-gc then frees the bytes nothing refers to (run in this
    # order by the in-process schedule, so in the same round).
    # Cleanup policies first, so the collections after it free what they removed.
    "cleanup": {"task": "formats.tasks.cleanup_task", "schedule": 6 * 3600.0},
    "oci-gc": {"task": "formats.oci.tasks.oci_gc_task", "schedule": 6 * 3600.0},
    "blob-gc": {"task": "storage.tasks.blob_gc_task", "schedule": 6 * 3600.0},
    # Re-hashes FSCK_SAMPLE_PERCENT of the blobs each day, so every blob is read now and then.
    "blob-fsck": {
        "task": "storage.tasks.blob_fsck_task",
        "schedule": 24 * 3600.0,
        "kwargs": {"sample": env.float("FSCK_SAMPLE_PERCENT", default=10.0)},
    },
    "audit-prune": {"task": "audit.tasks.audit_prune_task", "schedule": 24 * 3600.0},
    "download-stats-flush": {"task": "formats.tasks.download_stats_flush_task", "schedule": 60.0},
}
# Audit events older than this many days are deleted daily (0: kept forever).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Download counts are buffered and written in batches at this interval: in this process, or
# in Redis (shared by every process, flushed by any) when DOWNLOAD_STATS_URL, or else a
# redis:// CACHE_URL or CELERY_BROKER_URL, names one.
DOWNLOAD_STATS_FLUSH_SECONDS = env.int("DOWNLOAD_STATS_FLUSH_SECONDS", default=60)
DOWNLOAD_STATS_URL = env.str(
    "DOWNLOAD_STATS_URL",
    default=next(
        (
            url
            for url in (env.str("CACHE_URL", default=""), CELERY_BROKER_URL)
            if url.startswith(("redis://", "rediss://"))
        ),
        "",
    ),
)
# Without a broker there is no beat: one server process runs the stored schedule in a thread
# (registry_project/beat.py), so garbage collection happens in the embedded default too.
REGISTRY_IN_PROCESS_SCHEDULE = env.bool(
    "REGISTRY_IN_PROCESS_SCHEDULE", default=not CELERY_BROKER_URL
)
# OCI garbage collection also deletes untagged, unreachable manifests (Distribution's
# ``garbage-collect --delete-untagged``); off by default, as there.
OCI_GC_DELETE_UNTAGGED = env.bool("OCI_GC_DELETE_UNTAGGED", default=False)
# Where the registry keeps the read tree of hosted Maven repositories for nginx to serve
# (deploy/nginx.conf); unset, nothing is mirrored and every read goes through Django.
MIRROR_DIR = env.str("MIRROR_DIR", default="")
# Where nginx logs the downloads it sends from the mirror itself (deploy/nginx.conf), one file
# per ten seconds, read and deleted by every download statistics flush; unset, none is read.
MIRROR_DOWNLOADS_DIR = env.str("MIRROR_DOWNLOADS_DIR", default="")
# How long nginx may reuse an answer of /-/authorize: the longest a revoked token or a removed
# role keeps read access to mirrored files. 0 disables the cache.
AUTHORIZE_CACHE_SECONDS = env.int("AUTHORIZE_CACHE_SECONDS", default=5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.RegistryAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "registry_project.api_parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "registry_project.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry_project.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Artifact registry management API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "registry_project.api.document_errors",
    ],
}

# Security and sign-in (README: configuration). The web UI signs in every active user.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:index"
LOGOUT_REDIRECT_URL = "web:index"
# Every password check goes through the sign-in throttle and the verified-password cache.
AUTHENTICATION_BACKENDS = ["access.backends.PasswordBackend"]
SIGN_IN_FAILURE_LIMIT_USER = env.int("SIGN_IN_FAILURE_LIMIT_USER", default=10)
SIGN_IN_FAILURE_LIMIT_ADDRESS = env.int("SIGN_IN_FAILURE_LIMIT_ADDRESS", default=30)
SIGN_IN_FAILURE_WINDOW_SECONDS = env.int("SIGN_IN_FAILURE_WINDOW_SECONDS", default=900)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=900)
PASSWORD_CACHE_SECONDS = env.int("PASSWORD_CACHE_SECONDS", default=300)
# How long a process reuses an API token it found active (access/token_cache.py): the longest
# a token revoked by another process keeps working there. 0 reads it on every request.
TOKEN_CACHE_SECONDS = env.int("TOKEN_CACHE_SECONDS", default=5)
# Proxies in front that append the client to X-Forwarded-For (deploy/nginx.conf: 1).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Per process by default; a Redis URL (redis://redis:6379/1) shares it between processes.
# "local" is always this process's memory (access/backends.py keeps verified passwords there too).
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"},
}
# HTTPS: behind a TLS-terminating proxy name its header (X-Forwarded-Proto), then HSTS and
# Secure cookies apply to the requests it marks https.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
# The UI and the admin console load nothing from elsewhere (README images may be remote);
# the one inline style sheet (templates/base.html) carries the per-response nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "https:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# One line per request (INFO, logger registry.access) and the warnings of what went wrong, each
# with the request id; LOG_FORMAT=json writes one JSON object per line for a log pipeline.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = logging_config(level=env.str("LOG_LEVEL", default="INFO"), format=LOG_FORMAT)
# /-/metrics answers anyone (a scraper on a private network) instead of admins and holders of
# access.read_metrics.
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=False)
# A Celery worker serves its task metrics (runs, durations, GC bytes freed) on this port, for a
# scraper that reaches the worker's host; 0: none. Its pool processes share
# PROMETHEUS_MULTIPROC_DIR, which must be set for the worker.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env.str("WORKER_METRICS_ADDRESS", default="127.0.0.1")
BLOB_BACKEND = env.str("BLOB_BACKEND", default="storage.backends.FilesystemBackend")
# fsync before a blob becomes visible; turn off only for throwaway stores.
BLOB_FSYNC = env.bool("BLOB_FSYNC", default=True)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
