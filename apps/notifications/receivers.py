"""Subscribes notifications to other areas' events.

Receivers run after the emitting transaction commits and hand the event (ids only) to the
`notifications.handle_event` task, so fan-out to watchers never slows the request; the handlers
themselves live in `handlers.py`, which the task calls.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from apps.core import events
from apps.notifications.handlers import EVENT_TYPES, handle, notifies
from apps.notifications.tasks import handle_event

logger = logging.getLogger(__name__)


def receive(event: events.DomainEvent) -> None:
    name, fields = type(event).__name__, asdict(event)
    if not notifies(name, fields):
        return  # nothing to notify: no task
    try:
        handle_event.delay(name, fields)
    except Exception:
        # No broker right now: notify inline rather than lose the notification.
        logger.warning("could not enqueue notifications for %s; handling it inline", name, exc_info=True)
        handle(name, fields)


# Every event some handler in handlers.py `@handles`.
SUBSCRIPTIONS = [(event_type, receive) for event_type in EVENT_TYPES]
