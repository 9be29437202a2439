"""Domain events: services emit them; receivers in other apps react after the transaction commits.

    @dataclass(frozen=True)
    class PostCreated(DomainEvent):
        post_id: int
        author_id: int

    SUBSCRIPTIONS = [(PostCreated, award_points_for_post)]   # the receiving app's receivers.py
    events.emit(PostCreated(post_id=p.id, author_id=u.id))   # in a service, inside its transaction

Transport is a transactional outbox (apps/core/outbox.py): `emit` writes the event and one
delivery row per receiver in the emitting transaction, so the event exists if and only if the
change committed. Right after commit the emitting process runs the receivers itself and marks each
delivery done; anything left (a killed process, a failing receiver) is delivered by the relay, with
backoff, until it succeeds or is parked. Delivery is at least once: receivers are idempotent
(unique keys in the database). Slow work belongs in a Celery task that the receiver enqueues.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils import timezone

from apps.core import rls

logger = logging.getLogger(__name__)

# The PostgreSQL channel on which a committed event wakes the relay loop.
NOTIFY_CHANNEL = "sk_outbox"
NOTIFY_NOW = "now"  # the payload when some pair is due at once (a fan-out left to the relay)


@dataclass(frozen=True)
class DomainEvent:
    def as_dict(self) -> dict:
        return {"type": type(self).__name__, **asdict(self)}


E = TypeVar("E", bound=DomainEvent)
Receiver = Callable[[DomainEvent], None]
_receivers: dict[type[DomainEvent], list[Receiver]] = defaultdict(list)


def subscribe(event_type: type[E], receiver: Callable[[E], None]) -> None:
    if receiver not in _receivers[event_type]:
        _receivers[event_type].append(receiver)


def unsubscribe(event_type: type[E], receiver: Callable[[E], None]) -> None:
    if receiver in _receivers[event_type]:
        _receivers[event_type].remove(receiver)


def connect_receivers() -> None:
    """Subscribe every installed app's receivers: each declares them in its `receivers.py` as
    `SUBSCRIPTIONS = [(EventType, handler), ...]`, so "who reacts to PostCreated?" is one grep.
    Called once from the core app's ready() (every model is loaded by then)."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    for config in apps.get_app_configs():
        module_name = f"{config.name}.receivers"
        if find_spec(module_name) is None:
            continue
        for event_type, receiver in getattr(import_module(module_name), "SUBSCRIPTIONS", ()):
            subscribe(event_type, receiver)


def receivers_for(event: DomainEvent | type[DomainEvent]) -> list[Receiver]:
    cls = event if isinstance(event, type) else type(event)
    found: list[Receiver] = []
    for base in cls.__mro__:
        found.extend(_receivers.get(base, ()))
    return found


def dotted(obj) -> str:
    return f"{getattr(obj, '__module__', None)}:{getattr(obj, '__qualname__', repr(obj))}"


def in_relay(receiver: Receiver) -> Receiver:
    """Mark a receiver whose work is a fan-out the request should not wait for (notifying every
    watcher): with EVENTS_FAN_OUT_IN_RELAY the emitting process leaves it to the relay loop, which
    the commit's NOTIFY wakes at once, instead of handing it to a Celery task that a killed worker
    would take with it (the pair is done only when the receiver's writes commit)."""
    receiver.runs_in_relay = True
    return receiver


def _left_to_relay(receiver: Receiver) -> bool:
    return settings.EVENTS_FAN_OUT_IN_RELAY and getattr(receiver, "runs_in_relay", False) and relayable(receiver)


def relayable(receiver: Receiver) -> bool:
    """A module-level function another process can find again by name (not a lambda or closure)."""
    module = getattr(receiver, "__module__", None)
    qualname = getattr(receiver, "__qualname__", "")
    return bool(module) and bool(qualname) and "<" not in qualname and not hasattr(receiver, "__self__")


def _run_plain(receiver: Receiver, event: DomainEvent) -> None:
    """A receiver the outbox cannot track (a test's lambda): run once, a failure is logged."""
    try:
        with rls.system_context(f"event:{type(event).__name__}"):
            receiver(event)
    except Exception:
        logger.exception("receiver %s failed for %s", dotted(receiver), event)


def dispatch(event: DomainEvent, event_id: uuid.UUID | None = None, *, using: str = "default") -> None:
    """Run every receiver now. Called on commit by `emit`; tests may call it directly.

    Receivers are the domain's cross-user side effects (a vote awards the author points, a comment
    notifies subscribers), so they run in the audited RLS system context, each in its own
    savepoint so one failing receiver neither stops nor poisons the others. With `event_id`, the
    tracked receivers run in one transaction holding their delivery rows (`outbox.deliver_event`),
    and each row is marked in the same transaction as its receiver's writes."""
    from apps.core import outbox

    tracked = []
    for receiver in receivers_for(event):
        if event_id is None or not relayable(receiver):
            _run_plain(receiver, event)
            continue
        if not _left_to_relay(receiver):
            tracked.append(receiver)
    if not tracked:
        return
    try:
        outbox.deliver_event(event_id=event_id, event=event, receivers=tracked, using=using)
    except Exception:  # e.g. the database went away: the relay delivers them later
        logger.exception("delivery of %s left to the relay", event)


def emit(event: DomainEvent, *, using: str | None = None) -> None:
    """Record `event` in the outbox of the current transaction and deliver it once that commits
    (at once outside a transaction). A rolled-back transaction leaves no event."""
    receivers = receivers_for(event)
    if not receivers:
        return  # nobody reacts to it: nothing to record or deliver
    alias = using or "default"
    now = timezone.now()
    event_id = uuid.uuid4()
    tracked = {dotted(r): r for r in receivers if relayable(r)}
    names = sorted(tracked)
    # The relay leaves a fresh event to its own process for a few seconds (the low-latency path),
    # except the fan-outs this process leaves to the relay: those are due at once.
    later = now + timedelta(seconds=settings.EVENTS_OUTBOX_RELAY_DELAY_SECONDS)
    dues = [now if _left_to_relay(tracked[name]) else later for name in names]
    # One statement (so one round-trip, and atomic without a savepoint): the event, its deliveries,
    # and a NOTIFY that PostgreSQL sends only if this transaction commits, waking the relay loop
    # (apps.core.outbox.relay_loop) so it can deliver what this process leaves undone after `due`.
    # A transaction's identical notifications are sent once, however many events it emits.
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "WITH event AS (INSERT INTO outbox_events (id, type, payload, created_at) VALUES (%s, %s, %s::jsonb, %s)), "
            "deliveries AS (INSERT INTO outbox_deliveries (event_id, receiver, attempts, next_attempt_at, last_error) "
            "SELECT %s, receiver, 0, due, '' FROM unnest(%s::text[], %s::timestamptz[]) AS d (receiver, due)) "
            "SELECT pg_notify(%s, %s)",
            [
                event_id,
                dotted(type(event)),
                json.dumps(asdict(event), cls=DjangoJSONEncoder),
                now,
                event_id,
                names,
                dues,
                NOTIFY_CHANNEL,
                NOTIFY_NOW if now in dues else "",
            ],
        )
    if settings.EVENTS_DISPATCH_ON_COMMIT:
        transaction.on_commit(lambda: dispatch(event, event_id, using=alias), using=alias)
