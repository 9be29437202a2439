"""The transactional outbox's delivery side (the write side is `apps.core.events.emit`).

Each (event, receiver) pair is an `OutboxDelivery` row. Whoever delivers it (the emitting process
right after commit, or the relay) first locks the row with `SELECT ... FOR UPDATE SKIP LOCKED`, runs
the receiver in a savepoint, and records the outcome in the same transaction: so two relays never
run the same pair at once, a receiver's writes and its "done" mark commit together, and one failing
receiver never re-runs the others. A failure is retried with exponential backoff; after
EVENTS_OUTBOX_MAX_ATTEMPTS it is parked (admin: "Retry", /metrics: sk_outbox_parked).

The relay is `relay_loop`, a thread of every Celery worker (apps.core.tasks starts it when the
worker is ready): it LISTENs on its own connection for the NOTIFY that `emit` sends on commit,
sleeps until the pairs of that event are due (EVENTS_OUTBOX_RELAY_DELAY_SECONDS: the emitting
process's own head start), delivers whatever is still undone, and sweeps every
EVENTS_OUTBOX_RELAY_SECONDS anyway. Beat's `core.relay_outbox` is the safety net for a worker whose
loop is not running (EVENTS_OUTBOX_SWEEP_SECONDS).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import fields
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Min
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.core import rls
from apps.core.events import NOTIFY_CHANNEL, NOTIFY_NOW, DomainEvent, Receiver, dotted, receivers_for
from apps.core.models import OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)


def rebuild(row: OutboxEvent) -> DomainEvent:
    """The event object back from its row (JSON has lists where the dataclass had tuples)."""
    cls = import_string(row.type.replace(":", "."))
    names = {f.name for f in fields(cls)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in row.payload.items() if k in names}
    return cls(**values)


def _backoff(attempts: int) -> timedelta:
    base = settings.EVENTS_OUTBOX_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.EVENTS_OUTBOX_BACKOFF_MAX_SECONDS))


def _record_failure(row: OutboxDelivery, exc: Exception, *, using: str, now: datetime) -> None:
    """One failed attempt of a pair: backoff, or parked after EVENTS_OUTBOX_MAX_ATTEMPTS."""
    row.attempts += 1
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.attempts >= settings.EVENTS_OUTBOX_MAX_ATTEMPTS:
        row.parked_at = now
        logger.error("outbox: parked %s after %d attempts: %s", row, row.attempts, row.last_error)
    else:
        row.next_attempt_at = now + _backoff(row.attempts)
        logger.warning("outbox: %s failed (attempt %d), retrying later: %s", row, row.attempts, row.last_error)
    row.save(using=using, update_fields=["attempts", "last_error", "parked_at", "next_attempt_at"])


def _run(
    row: OutboxDelivery, receiver: Receiver | None, event: DomainEvent | None, *, using: str, now: datetime
) -> bool:
    """Run one locked pair and record the outcome on its row. True if the receiver succeeded."""
    try:
        if receiver is None or event is None:
            raise LookupError(f"{row.receiver} does not receive {row.event.type} in this process")
        with transaction.atomic(using=using):
            receiver(event)
    except Exception as exc:
        _record_failure(row, exc, using=using, now=now)
        return False
    row.attempts += 1
    row.done_at = now
    row.save(using=using, update_fields=["attempts", "done_at"])
    return True


def _run_together(
    rows: list[OutboxDelivery], by_name: dict, event: DomainEvent, *, using: str, now: datetime
) -> tuple[OutboxDelivery, Exception] | None:
    """Every pair's receiver in one savepoint, all marked done with it; None when all succeeded,
    else (the pair whose receiver raised, what it raised), with all of it rolled back (`on_commit`
    work included): one savepoint a delivery instead of one per receiver (two round trips each)."""
    current = rows[0]
    try:
        with transaction.atomic(using=using):
            for current in rows:
                by_name[current.receiver](event)
            OutboxDelivery.objects.using(using).filter(pk__in=[row.pk for row in rows]).update(
                attempts=F("attempts") + 1, done_at=now
            )
    except Exception as exc:
        return current, exc
    return None


def deliver_event(
    *, event_id: uuid.UUID, event: DomainEvent, receivers: list[Receiver], using: str = "default"
) -> None:
    """The emitting process's delivery of every tracked pair of one event, in one transaction: one
    RLS system context, one locking read of the pairs (SKIP LOCKED: a pair the relay holds, or one
    already done, is left alone), the receivers together in one savepoint, marked done in one
    statement. A receiver that raises is recorded for the relay and the savepoint rolled back; the
    others run together again without it, so their writes and "done" marks commit once."""
    order = {dotted(r): i for i, r in enumerate(receivers)}
    by_name = {dotted(r): r for r in receivers}
    with rls.system_context(f"event:{type(event).__name__}", using=using):
        rows = sorted(
            OutboxDelivery.objects.using(using)
            .select_for_update(skip_locked=True)
            .filter(event_id=event_id, receiver__in=list(by_name), done_at__isnull=True, parked_at__isnull=True),
            key=lambda row: order[row.receiver],
        )
        now = timezone.now()
        while rows:
            failed = _run_together(rows, by_name, event, using=using, now=now)
            if failed is None:
                return
            row, exc = failed  # recorded for the relay; the others run together again without it
            _record_failure(row, exc, using=using, now=now)
            rows = [other for other in rows if other is not row]


def _claim_next(now: datetime, using: str) -> OutboxDelivery | None:
    return (
        OutboxDelivery.objects.using(using)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("event")
        .filter(done_at__isnull=True, parked_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .first()
    )


def relay(*, limit: int | None = None, now: datetime | None = None, using: str = "default") -> int:
    """Deliver due pairs, one locked pair per transaction, until none is due or `limit` is reached.
    Safe to run in several processes at once. Returns how many pairs succeeded."""
    limit = settings.EVENTS_OUTBOX_RELAY_BATCH if limit is None else limit
    succeeded = 0
    for _ in range(limit):
        with transaction.atomic(using=using), rls.system_context("outbox.relay", using=using):
            sweep_now = now or timezone.now()
            row = _claim_next(sweep_now, using)
            if row is None:
                break
            try:
                event = rebuild(row.event)
                receiver = next((r for r in receivers_for(event) if dotted(r) == row.receiver), None)
            except Exception:
                logger.exception("outbox: cannot rebuild %s", row.event)
                event = receiver = None
            # Backoff counts from this sweep's clock, so a failed pair is not claimed again in it.
            succeeded += _run(row, receiver, event, using=using, now=sweep_now)
    return succeeded


def _seconds_until_due(using: str) -> float | None:
    """How long until the earliest pending pair is due (negative if overdue); None when none is."""
    first = (
        OutboxDelivery.objects.using(using)
        .filter(done_at__isnull=True, parked_at__isnull=True)
        .aggregate(first=Min("next_attempt_at"))["first"]
    )
    return None if first is None else (first - timezone.now()).total_seconds()


def _listen(using: str):
    """A connection of its own, in autocommit, LISTENing on the outbox channel (the ORM's
    connection of this thread runs the deliveries and may be closed and reopened at any time).
    Opened directly, never taken from the pool: it is held for good and closed, not given back."""
    import psycopg

    params = connections[using].get_connection_params()
    params.pop("cursor_factory", None)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    return conn


def relay_loop(stop: threading.Event, *, using: str = "default", ready: threading.Event | None = None) -> None:
    """Deliver what the emitting processes leave undone, woken by their commits, until `stop`.

    Each NOTIFY means "pairs due in EVENTS_OUTBOX_RELAY_DELAY_SECONDS" (or "now" for a fan-out
    left to the relay, `events.in_relay`); the loop sleeps until the
    earliest such moment, relays, then asks the database when the next pending pair is due (a
    backoff, or an event whose NOTIFY it missed), never sleeping longer than
    EVENTS_OUTBOX_RELAY_SECONDS. A lost database connection (a restart) is retried every second.
    `ready` is set once the loop listens (tests wait for it)."""
    idle = settings.EVENTS_OUTBOX_RELAY_SECONDS
    while not stop.is_set():
        listener = None
        try:
            listener = _listen(using)
            if ready is not None:
                ready.set()
            wake_at = time.monotonic()  # sweep on (re)start: the NOTIFYs sent meanwhile are lost
            while not stop.is_set():
                now = time.monotonic()
                if now >= wake_at:
                    delivered = relay(using=using)
                    due_in = _seconds_until_due(using)
                    if delivered >= settings.EVENTS_OUTBOX_RELAY_BATCH:
                        due_in = 0.0  # more is due right now
                    # Not before 0.5 s: a due pair can be locked by its emitting process a moment.
                    wake_at = now + min(max(due_in if due_in is not None else idle, 0.5), idle)
                # Wait for a commit's NOTIFY (or the next due pair), in short slices to notice `stop`.
                timeout = min(max(wake_at - time.monotonic(), 0.01), 1.0)
                for note in listener.notifies(timeout=timeout, stop_after=1):
                    delay = 0 if note.payload == NOTIFY_NOW else settings.EVENTS_OUTBOX_RELAY_DELAY_SECONDS + 0.05
                    wake_at = min(wake_at, time.monotonic() + delay)
        except Exception as exc:
            logger.warning("outbox relay loop: %s: %s; retrying in 1 s", type(exc).__name__, exc)
            connections[using].close()
            stop.wait(1.0)
        finally:
            if listener is not None:
                listener.close()  # psycopg closes a broken connection without raising
    connections[using].close()


def retry(queryset) -> int:
    """Un-park pairs (the admin's "Retry" action): due now, with a fresh attempt budget."""
    return queryset.filter(done_at__isnull=True).update(
        parked_at=None, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )


def prune(*, now: datetime | None = None) -> int:
    """Delete events older than EVENTS_OUTBOX_RETENTION_HOURS whose every delivery is done."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EVENTS_OUTBOX_RETENTION_HOURS)
    pending = OutboxDelivery.objects.filter(done_at__isnull=True).values("event_id")
    _, per_model = OutboxEvent.objects.filter(created_at__lt=cutoff).exclude(id__in=pending).delete()
    return per_model.get(OutboxEvent._meta.label, 0)


def lag_seconds(*, now: datetime | None = None) -> float:
    """Age of the oldest event with a pending (not done, not parked) delivery; 0 when none."""
    oldest = OutboxDelivery.objects.filter(done_at__isnull=True, parked_at__isnull=True).aggregate(
        oldest=Min("event__created_at")
    )["oldest"]
    if oldest is None:
        return 0.0
    return max(((now or timezone.now()) - oldest).total_seconds(), 0.0)


def parked_count() -> int:
    return OutboxDelivery.objects.filter(parked_at__isnull=False, done_at__isnull=True).count()


def pending_count() -> int:
    return OutboxDelivery.objects.filter(done_at__isnull=True, parked_at__isnull=True).count()
