"""Dependency checks for readiness. Each answers "ok" or a short reason, never raises."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections

logger = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readiness: database unavailable: %s", exc.__class__.__name__)
        return "unavailable"


def check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", 5)
        ok = cache.get(key) == "1"
        cache.delete(key)
        return "ok" if ok else "unavailable"
    except Exception as exc:
        logger.warning("readiness: cache unavailable: %s", exc.__class__.__name__)
        return "unavailable"


def check_broker() -> str:
    from celery import current_app

    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        logger.warning("readiness: broker unavailable: %s", exc.__class__.__name__)
        return "unavailable"


def check_outbox() -> str:
    """ "lagging" when the oldest undelivered event is older than EVENTS_OUTBOX_LAG_DEGRADED_SECONDS
    (no relay running, or receivers failing): soft, the node still serves."""
    from apps.core import outbox

    try:
        lag = outbox.lag_seconds()
    except Exception as exc:
        logger.warning("readiness: outbox unreadable: %s", exc.__class__.__name__)
        return "unavailable"
    return "lagging" if lag > settings.EVENTS_OUTBOX_LAG_DEGRADED_SECONDS else "ok"


def run_checks() -> dict[str, str]:
    checks = {"database": check_database()}
    if checks["database"] == "ok":
        checks["outbox"] = check_outbox()
    if settings.REDIS_URL:
        # With Redis the cache and broker are separate services worth checking; without it both
        # live in PostgreSQL, which the database check already covers.
        checks["cache"] = check_cache()
        checks["broker"] = check_broker()
    return checks
