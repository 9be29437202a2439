import logging

from celery import Task, shared_task

logger = logging.getLogger(__name__)


@shared_task(name="core.echo", ignore_result=False)
def echo(value: str) -> str:
    """Round-trip probe for operators and tests: `echo.delay("hi").get()` proves broker, worker and
    result backend all work."""
    return value


@shared_task(name="core.relay_outbox", base=Task)
def relay_outbox() -> int:
    """The outbox's safety net (beat, every EVENTS_OUTBOX_RELAY_SECONDS): deliver every pair the
    emitting processes left. A plain task: the relay opens one system-context transaction per pair
    itself, so a batch is not one long transaction holding every claimed row."""
    from apps.core import outbox

    return outbox.relay()


@shared_task(name="core.prune_outbox")
def prune_outbox() -> int:
    """Delete delivered events older than EVENTS_OUTBOX_RETENTION_HOURS (hourly, beat)."""
    from apps.core import outbox

    return outbox.prune()


@shared_task(name="core.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Forget Idempotency-Keys older than IDEMPOTENCY_KEY_HOURS (hourly, beat)."""
    from apps.core import idempotency

    return idempotency.purge()


@shared_task(name="core.purge_limit_counters")
def purge_limit_counters() -> int:
    """Forget the limiter's expired PostgreSQL counters (every 15 minutes, beat)."""
    from apps.core import limits

    return limits.purge()
