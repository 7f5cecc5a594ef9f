"""Settings of the DRF reference (bench/reference/drf): the W1/W2 endpoints of the Wassally API
written the way a Django REST Framework developer would, over the tables the server migrated.

Environment (set by scripts/bench):
  DRF_DATABASE_URL       postgresql://user[:password]@host:port/db — the harness's database
  DRF_TOKEN_SECRET_FILE  the server's HMAC token secret ($WASSALLY_VAR_DIR/token_secret)
"""
import os
from urllib.parse import unquote, urlparse

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "bench-reference-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "rest_framework",
    "api",
]
# An API-only project: no sessions, CSRF, messages or templates.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "wassally_drf.urls"
WSGI_APPLICATION = "wassally_drf.wsgi.application"
APPEND_SLASH = False

_url = urlparse(os.environ.get("DRF_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wassally"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
        # One persistent connection per gunicorn worker (not one per request).
        "CONN_MAX_AGE": None,
        "ATOMIC_REQUESTS": False,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

_secret_file = os.environ.get("DRF_TOKEN_SECRET_FILE", "")
WASSALLY_TOKEN_SECRET = open(_secret_file).readline().rstrip("\n") if _secret_file else ""
WASSALLY_DELIVERY_FEE = "10.00"
WASSALLY_COINS_PER_ORDER = 10

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.WassallyTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "api.views.exception_handler",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "COERCE_DECIMAL_TO_STRING": True,
}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
