"""Production settings plus psycopg's connection pool (Django ≥ 5.1), for the benchmark only.

Under ASGI every request runs in a fresh thread, so Django's persistent connections
(CONN_MAX_AGE) are never reused: each request opens a new PostgreSQL connection (a backend
fork). The pool keeps connections open across requests. See the bench README for the difference."""

from successkid.settings.production import *  # noqa: F403
from successkid.settings.production import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], "pool": {"min_size": 2, "max_size": 8}}
