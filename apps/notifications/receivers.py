"""Subscribes notifications to other areas' events.

The fan-out (every watcher of a thread, every upvoted author) is the outbox relay's work, not the
request's: `receive` is marked `events.in_relay`, so the emitting process leaves it to the relay
loop that the commit's NOTIFY wakes at once, in a Celery worker. The pair is marked done in the
same transaction as the notifications it wrote, so a process killed at any point loses none and a
retried delivery adds none (dedupe keys). The handlers live in `handlers.py`.
"""

from __future__ import annotations

from dataclasses import asdict

from apps.core import events
from apps.notifications.handlers import EVENT_TYPES, handle, notifies


@events.in_relay
def receive(event: events.DomainEvent) -> None:
    name, fields = type(event).__name__, asdict(event)
    if notifies(name, fields):  # decided from the event alone: most votes notify nobody
        handle(name, fields)


# Every event some handler in handlers.py `@handles`.
SUBSCRIPTIONS = [(event_type, receive) for event_type in EVENT_TYPES]
