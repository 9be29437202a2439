"""Domain events: services emit them; receivers in other apps react after the transaction commits.

    @dataclass(frozen=True)
    class PostCreated(DomainEvent):
        post_id: int
        author_id: int

    events.subscribe(PostCreated, award_points_for_post)   # in the receiving app's ready()
    events.emit(PostCreated(post_id=p.id, author_id=u.id))   # in a service, inside its transaction

A rolled-back transaction emits nothing. A failing receiver is logged and does not stop the others
(nor the request: the write it reacts to has already committed). Slow work belongs in a Celery task
that the receiver enqueues.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import transaction

from apps.core import rls

logger = logging.getLogger(__name__)


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


def receivers_for(event: DomainEvent) -> list[Receiver]:
    found: list[Receiver] = []
    for cls in type(event).__mro__:
        found.extend(_receivers.get(cls, ()))
    return found


def dispatch(event: DomainEvent) -> None:
    """Run every receiver now. Called on commit by `emit`; tests may call it directly.

    Receivers are the domain's cross-user side effects (a vote awards the author points, a comment
    notifies subscribers), so they run in the audited RLS system context, each in its own
    transaction (or savepoint) so one failing receiver neither stops nor poisons the others."""
    reason = f"event:{type(event).__name__}"
    for receiver in receivers_for(event):
        try:
            # Its own transaction (after the emitting one committed) or savepoint: a deferred
            # constraint failing at its commit is still this receiver's failure.
            with rls.system_context(reason):
                receiver(event)
        except (DatabaseOperationalError, DatabaseInterfaceError) as exc:
            # The write this event reports has committed, but the database went away before the
            # receiver ran (bench/load, fault "postgres": acknowledged votes and posts lost their
            # points). Receivers are idempotent, so run this one again later through Celery.
            if not redeliver_later(receiver, event):
                logger.exception("receiver %s failed for %s", getattr(receiver, "__qualname__", receiver), event)
            else:
                logger.warning("receiver %s hit a database outage (%s); redelivery queued", receiver.__qualname__, exc)
        except Exception:
            logger.exception("receiver %s failed for %s", getattr(receiver, "__qualname__", receiver), event)


def dotted(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def redeliver_later(receiver: Receiver, event: DomainEvent) -> bool:
    """Queue one receiver's run of one event (module-level receivers only). False if impossible."""
    path = dotted(receiver)
    if "<" in path:  # a lambda or a closure cannot be found again in another process
        return False
    try:
        from apps.core.tasks import redeliver_event

        redeliver_event.apply_async(
            args=[path, dotted(type(event)), asdict(event)], countdown=settings.EVENTS_REDELIVERY_DELAY_SECONDS
        )
    except Exception:  # the broker is down too: keep it on disk until it is back
        from apps.core import event_spool

        try:
            event_spool.write(path, dotted(type(event)), asdict(event))
        except OSError:
            logger.exception("could not queue nor spool the redelivery of %s to %s", event, path)
            return False
    return True


def emit(event: DomainEvent, *, using: str | None = None) -> None:
    """Deliver `event` to its receivers once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: dispatch(event), using=using)
