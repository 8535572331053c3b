"""Settings for the demo project.

SQLite and django-q2's ORM broker by default; ``DATABASE_URL`` switches to PostgreSQL and
``REDIS_URL`` to the Redis broker, so the same project scales out to several worker clusters.
"""
import os
from pathlib import Path

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "polymorphic",
    "simple_history",
    "django_q",
    "billing_events",
    "automations",
    "config.apps.DemoConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Persistent connections: django-q2's ORM broker closes "old" connections before every
        # enqueue, which with a max age of 0 means a new connection per task.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Worker processes and the web server share one file: wait for the write lock instead of
    # failing with "database is locked", and let readers proceed while a writer commits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_EMAIL_OPTIONS = {"host": os.environ["EMAIL_HOST"], "port": int(os.environ.get("EMAIL_PORT", "25"))} if (
    os.environ.get("EMAIL_HOST")) else {}
if django.VERSION >= (6, 1):  # Django 6.1 replaced EMAIL_BACKEND/EMAIL_HOST/... with MAILERS
    MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
else:
    EMAIL_BACKEND = _EMAIL_BACKEND
    if _EMAIL_OPTIONS:
        EMAIL_HOST, EMAIL_PORT = _EMAIL_OPTIONS["host"], _EMAIL_OPTIONS["port"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@example.com")

# django-q2: a task not acknowledged within ``retry`` seconds is handed out again, so ``timeout``
# must stay below it; the engine's guarded transitions make a second delivery harmless.
Q_CLUSTER = {
    "name": "automations",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 60,
    "retry": 90,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 250,
    "poll": 0.5,
    "orm": "default",
    # django-q2's brokers, made to wait out a database (or Redis) restart: see automations/brokers
    "broker_class": "automations.brokers.orm.ORM",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
    Q_CLUSTER["broker_class"] = "automations.brokers.redis.Redis"

# No REST_FRAMEWORK setting: the API names its own authentication, permissions, parsers,
# pagination and error handling on every view (automations/api/base.py), as it must in any host.
# The API's schema has its own settings (automations/api/schema.py); these serve its docs pages.
SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the package: the docs work offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

BILLING_EVENTS = {"BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway"}
# ``manage.py demo --stripe`` sets these for the server and the worker cluster it starts: the Stripe
# connector, pointed at the fake Stripe it runs on loopback, its webhook included (config/urls.py).
DEMO_STRIPE = bool(os.environ.get("DEMO_STRIPE_API_KEY"))
if DEMO_STRIPE:
    BILLING_EVENTS = {
        "BILLING_GATEWAY": "billing_events.stripe.gateway.StripeGateway",
        "STRIPE_API_KEY": os.environ["DEMO_STRIPE_API_KEY"],
        "STRIPE_API_BASE": os.environ.get("DEMO_STRIPE_API_BASE") or None,
        "STRIPE_WEBHOOK_SECRETS": [secret for secret in [os.environ.get("DEMO_STRIPE_WEBHOOK_SECRET")] if secret],
    }

AUTOMATIONS = {
    # Encrypts named secrets at rest; unset, a key derived from SECRET_KEY is used (demo only).
    "SECRETS_KEY": os.environ.get("AUTOMATIONS_SECRETS_KEY") or None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"automations": {"handlers": ["console"], "level": "INFO"}},
}
