"""Django settings for the trichotrack clinic web app.

One file, every value from the environment (healthchecks style). With no environment at all it runs on an
embedded SQLite database in ``./var`` so that a fresh checkout works.

Environment
-----------
TRICHOTRACK_DATA_DIR        folder for the SQLite file and uploaded media (default ./var)
DATABASE_URL                e.g. postgres://postgres@127.0.0.1:5432/trichotrack (default: SQLite)
SECRET_KEY                  required when DEBUG is off (system check trichotrack.E001)
DEBUG                       "1"/"true" for development (default off)
ALLOWED_HOSTS               comma separated (default: localhost names)
TRICHOTRACK_DEMO_PASSWORD   password of the demo accounts made by ``trichotrack demo-data``
TRICHOTRACK_SECURE_COOKIES  mark cookies Secure (default: on unless DEBUG); off for plain-http loopback use
TRICHOTRACK_TIME_ZONE       the clinic's time zone, e.g. Europe/Berlin (default UTC): dates shown to users,
                            "today" and the follow-up schedule are local dates there (23:30 is that day)
TRICHOTRACK_IDLE_MINUTES    staff sessions expire after this many idle minutes (default 30)
TRICHOTRACK_REQUIRE_MFA     clinic staff must pass a one-time code (TOTP) after the password (default on)
TRICHOTRACK_PHOTO_MAX_MB    largest accepted photo file (default 30)
TRICHOTRACK_PHOTO_MAX_MP    most pixels a photo may declare, in megapixels (default 50)
TRICHOTRACK_TASK_STUCK_MINUTES  the watchdog fails a task RUNNING longer than this (default 15)
TRICHOTRACK_INVITE_DAYS     a patient portal invitation link is valid this many days (default 14)
TRICHOTRACK_WEB_PROCESSES   web server processes sharing the port (default one per CPU; see web/server.py)
TRICHOTRACK_WEB_THREADS     waitress threads per web server process (default 8)
TRICHOTRACK_S3_BUCKET       store photos and files in this S3-compatible bucket instead of the data folder;
                            needs ``pip install "django-storages[s3]"``; with TRICHOTRACK_S3_ENDPOINT_URL
                            (e.g. MinIO), TRICHOTRACK_S3_REGION, and the usual AWS_ACCESS_KEY_ID /
                            AWS_SECRET_ACCESS_KEY in the environment (system check trichotrack.E020)
"""

import os
from pathlib import Path

import dj_database_url


def envbool(name: str, default: str = "False") -> bool:
    return os.getenv(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.getenv("TRICHOTRACK_DATA_DIR", "var")).resolve()

DEBUG = envbool("DEBUG")
# Only a development fallback: trichotrack.E001 refuses to start without a real key when DEBUG is off.
DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = os.getenv("SECRET_KEY") or DEV_SECRET_KEY
ALLOWED_HOSTS = [
    h for h in os.getenv("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h
]
DEMO_PASSWORD = os.getenv("TRICHOTRACK_DEMO_PASSWORD", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # one-use recovery codes (clinics.mfa)
    "trichotrack.web.clinics",
    "trichotrack.web.audit",
    "trichotrack.web.patients",
    "trichotrack.web.consent",
    "trichotrack.web.procedures",
    "trichotrack.web.followups",
    "trichotrack.web.safety",
    "trichotrack.web.reports",
    "trichotrack.web.photos",
    "trichotrack.web.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's SessionMiddleware, refreshing an unchanged session at most once a minute (see its docstring).
    "trichotrack.web.clinics.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's, loading the second-factor device with one hand-written SELECT.
    "trichotrack.web.clinics.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "trichotrack.web.clinics.middleware.MembershipMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trichotrack.web.urls"
WSGI_APPLICATION = "trichotrack.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trichotrack.web.clinics.context_processors.membership",
            ],
        },
    },
]

if os.getenv("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "trichotrack.sqlite3",
            # Keep each server thread's connection, as for PostgreSQL: opening one (Django's SQL functions,
            # the WAL pragma) cost about 2 ms of CPU on every request.
            "CONN_MAX_AGE": 60,
            # The task worker and the web server write at the same time: wait instead of "database is locked".
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Two queues: "default" (PDFs, clocks) and "images" (photo measurement, CPU-heavy). `trichotrack serve` runs
# one worker for both; more workers, on any machine that reaches the same PostgreSQL database, start with
# `python -m django db_worker --queue-name images --worker-id <unique>` (rows are claimed with SKIP LOCKED).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "images"]}}
TASK_STUCK_MINUTES = envint("TRICHOTRACK_TASK_STUCK_MINUTES", "15")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out users before the password is checked
    # Django's ModelBackend, loading the user's membership and clinic with the user (one query a request).
    "trichotrack.web.clinics.backends.ModelBackend",
]
# Lockout after repeated failures, counted per user name (from any address) and per address (any name).
AXES_FAILURE_LIMIT = envint("TRICHOTRACK_LOGIN_FAILURES", "5")
AXES_COOLOFF_TIME = envint("TRICHOTRACK_LOCKOUT_MINUTES", "15") / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# A second factor for clinic staff (TOTP through django-otp); enrolment happens at the first sign-in.
REQUIRE_MFA = envbool("TRICHOTRACK_REQUIRE_MFA", "True")
OTP_TOTP_ISSUER = "trichotrack"

LOGIN_URL = "login"
# "home" sends staff to the dashboard and patients to their portal.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions expire: the expiry is pushed forward as the user works (IdleSessionMiddleware saves an
# unchanged session at most every SESSION_REFRESH_SECONDS, not on every request).
# Django's database sessions, loaded with one hand-written SELECT (the ORM's was 300 µs of CPU a request).
SESSION_ENGINE = "trichotrack.web.clinics.sessions"
SESSION_COOKIE_AGE = envint("TRICHOTRACK_IDLE_MINUTES", "30") * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_COOKIES = envbool("TRICHOTRACK_SECURE_COOKIES", "False" if DEBUG else "True")
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

LANGUAGE_CODE = "en-gb"
# Datetimes are stored in UTC; every date shown or computed (timezone.localdate, the |date filter, {% when %})
# is a local date in this zone.
TIME_ZONE = os.getenv("TRICHOTRACK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves straight from the app static folders: no collectstatic step on a fresh machine.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
# Files go through Django's storage API: the data folder by default, an S3-compatible bucket by configuration.
# Photos are never served from MEDIA_URL: views check access, then stream them from the storage.
S3_BUCKET = os.getenv("TRICHOTRACK_S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.getenv("TRICHOTRACK_S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("TRICHOTRACK_S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

PHOTO_MAX_BYTES = envint("TRICHOTRACK_PHOTO_MAX_MB", "30") * 1024 * 1024
PHOTO_MAX_PIXELS = envint("TRICHOTRACK_PHOTO_MAX_MP", "50") * 1_000_000
PHOTO_MAX_FILES = 12  # per upload
INVITE_DAYS = envint("TRICHOTRACK_INVITE_DAYS", "14")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
    # WeasyPrint warns on every PDF that HarfBuzz-Subset is missing (it falls back to fontTools).
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}
