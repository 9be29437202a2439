import logging
import threading

from celery import Task, shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(name="core.echo", ignore_result=False)
def echo(value: str) -> str:
    """Round-trip probe for operators and tests: `echo.delay("hi").get()` proves broker, worker and
    result backend all work."""
    return value


@shared_task(name="core.relay_outbox", base=Task)
def relay_outbox() -> int:
    """The outbox's safety net (beat, every EVENTS_OUTBOX_SWEEP_SECONDS) behind the workers' relay
    loops: deliver every pair the emitting processes left. A plain task: the relay opens one
    system-context transaction per pair itself, so a batch is not one long transaction holding
    every claimed row."""
    from apps.core import outbox

    return outbox.relay()


_relay_stop = threading.Event()


@worker_ready.connect
def start_relay_loop(**_) -> None:
    """Run the outbox relay loop in a thread of every Celery worker (the main process, beside the
    consumer): each worker is a relay woken by commits, with no extra process to deploy or supervise,
    and several workers share the work safely (SKIP LOCKED)."""
    if not settings.EVENTS_OUTBOX_RELAY_LOOP:
        return
    from apps.core import outbox

    _relay_stop.clear()
    # Several loops per worker: a fan-out waits on the database most of the time, so they overlap.
    for n in range(settings.EVENTS_OUTBOX_RELAY_THREADS):
        threading.Thread(target=outbox.relay_loop, args=(_relay_stop,), name=f"outbox-relay-{n}", daemon=True).start()


@worker_shutdown.connect
def stop_relay_loop(**_) -> None:
    _relay_stop.set()


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
