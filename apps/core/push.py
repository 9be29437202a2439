"""The one way to push to WebSocket clients: `broadcast(topic, event, data)`, after commit.

Topics are API.md's (`market`, `posts`, `category:<slug>`, `post:<id>`, `user:<id>`, ...). Each maps
to a channel-layer group; the realtime consumer joins the group when a client subscribes.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

TOPIC_RE = re.compile(r"^[a-z_]+(?::[A-Za-z0-9_\-]{1,64})?$")


def group_name(topic: str) -> str:
    """Channel-layer group for a topic (groups allow only [A-Za-z0-9._-], under 100 chars)."""
    if not TOPIC_RE.match(topic):
        raise ValueError(f"invalid topic {topic!r}")
    return "rt." + topic.replace(":", ".")


def event_message(
    topic: str,
    event: str,
    data: Any,
    *,
    sender: dict | None = None,
    exclude: str | None = None,
    audience: list[int] | None = None,
) -> dict[str, Any]:
    """The channel-layer message for one event. The frame is JSON-encoded here, once, in the
    publishing process; every receiving process forwards those bytes to its sockets untouched.
    `sender` (room broadcasts) is shown to recipients; `exclude` names a socket not to echo to;
    `audience` (apps.core.access: a content event's read rule) limits delivery to the sockets
    whose viewer may read it, whatever topic they subscribed to."""
    import json

    # Encode once here (Decimals as strings, datetimes ISO): the consumer forwards it as is.
    frame = {
        "type": "event",
        "topic": topic,
        "event": event,
        "data": data,
        "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if sender is not None:
        frame["from"] = sender
    message = {
        "type": "realtime.event",
        "topic": topic,
        "event": event,
        "frame": json.dumps(frame, cls=DjangoJSONEncoder),
    }
    if exclude:
        message["exclude"] = exclude
    if audience is not None:
        message["audience"] = audience
    return message


def broadcast_now(topic: str, event: str, data: Any, *, audience: list[int] | None = None) -> None:
    """Send immediately. Prefer `broadcast`, which waits for the transaction to commit."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(topic), event_message(topic, event, data, audience=audience))
    except Exception:
        # Real-time is best effort: a lost channel layer must never fail the write behind it.
        logger.warning("broadcast to %s failed", topic, exc_info=True)


async def abroadcast_now(
    topic: str,
    event: str,
    data: Any,
    *,
    sender: dict | None = None,
    exclude: str | None = None,
    audience: list[int] | None = None,
) -> None:
    """Send now from async code (the consumer's room broadcasts and presence diffs)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        message = event_message(topic, event, data, sender=sender, exclude=exclude, audience=audience)
        await layer.group_send(group_name(topic), message)
    except Exception:
        logger.warning("broadcast to %s failed", topic, exc_info=True)


def broadcast(
    topic: str, event: str, data: Any, *, using: str | None = None, audience: list[int] | None = None
) -> None:
    """Broadcast `event` on `topic` once the current transaction commits; nothing if it rolls back.
    Content events pass `audience` (apps.core.access.post_audience...): who may receive them."""
    group_name(topic)  # fail fast on a bad topic, inside the caller's transaction
    extra = {"audience": audience} if audience is not None else {}
    transaction.on_commit(lambda: broadcast_now(topic, event, data, **extra), using=using)


# -- per-user frames computed where the sockets are ---------------------------------------------
# A bulk notification (an announcement, a milestone) is one row per user. Pushing each on its
# `user:<id>` topic from the writer would be one layer message per user, connected or not (100,000
# for an announcement). Instead the writer publishes ONE message to every process's hub; each hub
# asks a registered builder for the frames of the users subscribed to `user:<id>` *on that
# process* (one query for all of them) and pushes them locally. Nothing is sent for users offline.
PER_USER_GROUP = "rt-internal.per-user"
_per_user_builders: dict[str, Any] = {}


def register_per_user_builder(name: str, builder) -> None:
    """`builder(payload: dict, user_ids: list[int]) -> {user_id: (event, data)}`; runs in a worker
    thread of each web process, in the audited system context (it reads several users' rows)."""
    _per_user_builders[name] = builder


def per_user_builder(name: str):
    return _per_user_builders.get(name)


def broadcast_per_user_now(builder: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            PER_USER_GROUP, {"type": "realtime.per_user", "builder": builder, "payload": payload}
        )
    except Exception:
        logger.warning("per-user broadcast %s failed", builder, exc_info=True)


def broadcast_per_user(builder: str, payload: dict) -> None:
    """Ask every process to push `builder`'s frames to its connected users, after commit."""
    if builder not in _per_user_builders:
        raise ValueError(f"no per-user builder {builder!r}")
    transaction.on_commit(lambda: broadcast_per_user_now(builder, payload))


# -- sockets follow the session -------------------------------------------------------------------
# Each process's hub joins `rt-session.<user id>` for every user with a signed-in socket there, so an
# ended session (logout, revocation, password change, suspension, deletion) closes its sockets on
# every process, over whichever channel layer is configured (Redis or PostgreSQL).
def session_group(user_id: int) -> str:
    return f"rt-session.{int(user_id)}"


def refresh_user_sockets_now(user_id: int, *, reason: str = "") -> None:
    """The user's role or holder tier changed: every process re-reads it for the user's open sockets,
    so what they receive (and may stay subscribed to) follows the new standing. Best effort."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "realtime.refresh", "user_id": int(user_id), "reason": reason}
    try:
        async_to_sync(layer.group_send)(session_group(user_id), message)
    except Exception:
        logger.warning("refreshing the sockets of user %s failed", user_id, exc_info=True)


def close_user_sockets_now(
    user_id: int, *, session_ids: list[str] | None = None, except_session_id: str | None = None, reason: str = ""
) -> None:
    """Close the user's open sockets now: those signed in with one of `session_ids`, or (None)
    all but `except_session_id`'s. Best effort, like every broadcast."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {
        "type": "realtime.close",
        "user_id": int(user_id),
        "sessions": [str(s) for s in session_ids] if session_ids is not None else None,
        "except": str(except_session_id) if except_session_id else None,
        "reason": reason,
    }
    try:
        async_to_sync(layer.group_send)(session_group(user_id), message)
    except Exception:
        logger.warning("closing the sockets of user %s failed", user_id, exc_info=True)
