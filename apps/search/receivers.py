"""Search reacts to forum writes: cached results and suggestions go stale (versioned keys).
The index itself needs nothing here: triggers keep it current inside the write's transaction."""

from __future__ import annotations

from apps.core import events
from apps.forum import events as forum_events
from apps.privacy.events import AccountDeleted
from apps.search import services

CONTENT_EVENTS = (
    forum_events.PostCreated,
    forum_events.PostEdited,
    forum_events.PostDeleted,
    forum_events.CommentCreated,
    forum_events.CommentDeleted,
)


def on_content_changed(event: events.DomainEvent) -> None:
    services.content_changed()


SUBSCRIPTIONS = [
    *((event_type, on_content_changed) for event_type in CONTENT_EVENTS),
    # A closed account's posts now show the deleted-user account, and its name must stop being
    # suggested: cached pages and suggestions go stale at once.
    (AccountDeleted, on_content_changed),
]
