"""Production: refuses to start without its secrets; `manage.py check --deploy` is clean."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

for _name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
    if not env(_name, default=""):
        raise ImproperlyConfigured(f"{_name} must be set in production")

# Row-level security: runtime processes connect as the app role (DATABASE_APP_USER), never as
# the owner; only migrations and `create_db_roles` run with DATABASE_AS_OWNER=1.
if not env("DATABASE_APP_USER", default="") and not env.bool("DATABASE_AS_OWNER", default=False):
    raise ImproperlyConfigured("DATABASE_APP_USER must be set in production (or DATABASE_AS_OWNER=1 for migrate)")

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = "json"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^api/health"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
