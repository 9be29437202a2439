"""What the forum itself reacts to: its cached feed pages go stale (apps/forum/feed_cache.py)."""

from __future__ import annotations

from apps.core.refcache import ReferenceDataChanged
from apps.forum import events, feed_cache

SUBSCRIPTIONS = [
    (events.PostCreated, feed_cache.invalidate),
    (events.PostEdited, feed_cache.invalidate),
    (events.PostDeleted, feed_cache.invalidate),
    (events.PostChanged, feed_cache.invalidate),
    (ReferenceDataChanged, feed_cache.invalidate),
]
