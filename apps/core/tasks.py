import logging

from celery import shared_task
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@shared_task(name="core.echo", ignore_result=False)
def echo(value: str) -> str:
    """Round-trip probe for operators and tests: `echo.delay("hi").get()` proves broker, worker and
    result backend all work."""
    return value


@shared_task(
    name="core.redeliver_event",
    bind=True,
    retry_on_database_outage=True,  # successkid.celery.SystemTask: also when the outage hits its BEGIN
    max_retries=settings.EVENTS_REDELIVERY_MAX_RETRIES,
    default_retry_delay=settings.EVENTS_REDELIVERY_DELAY_SECONDS,
)
def redeliver_event(self, receiver_path: str, event_path: str, fields: dict) -> None:
    """Run a receiver that could not run on commit because the database was away (see
    apps.core.events.dispatch); retried while the database is still unreachable."""
    from django.db import InterfaceError, OperationalError

    from apps.core import events

    event = import_string(event_path.replace(":", "."))(**fields)
    receiver = next((r for r in events.receivers_for(event) if events.dotted(r) == receiver_path), None)
    if receiver is None:
        logger.warning("redelivery: %s no longer receives %s", receiver_path, event_path)
        return
    try:
        receiver(event)
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc) from exc


@shared_task(name="core.drain_event_spool")
def drain_event_spool() -> int:
    """Send this machine's spooled event redeliveries to Celery (apps/core/event_spool.py)."""
    from apps.core import event_spool

    sent, _kept = event_spool.drain()
    return sent


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
