"""The one WebSocket (API.md "Real-time"): authenticate, subscribe to topics (with filters),
join rooms (presence), broadcast to a room, receive events.

A socket has no channel-layer channel of its own: subscriptions go through the process's hub
(apps/realtime/hub.py), which holds one layer subscription per topic and writes the published
frame straight to the sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import unicodedata
import uuid
from typing import Any

import nh3
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.core import access, limits
from apps.core.metrics import WS_CONNECTIONS, WS_MESSAGES
from apps.core.push import abroadcast_now
from apps.realtime import topics
from apps.realtime.hub import freeze_filter, get_hub
from apps.realtime.middleware import authenticate_token

logger = logging.getLogger(__name__)
RECEIVED_FRAMES, SENT_FRAMES = WS_MESSAGES.labels("in"), WS_MESSAGES.labels("out")

CLOSE_TOKEN_EXPIRED = 4401
CLOSE_TOKEN_INVALID = 4403
CLOSE_FLOODING = 4429
EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}(?:\.[a-z0-9_]{1,32}){0,2}$")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
MAX_TEXT = 1000


class BadPayload(ValueError):
    pass


def _clean_text(value: str) -> str:
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if len(value) > MAX_TEXT:
        raise BadPayload(f"Text values are limited to {MAX_TEXT} characters.")
    return nh3.clean(value, tags=set())


def sanitise(value: Any, depth: int = 0) -> Any:
    """Room payloads: small JSON objects of text, numbers, booleans and short lists; text has its
    control characters and markup removed (it is rendered by other people's clients)."""
    if isinstance(value, str):
        return _clean_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= 2:
        raise BadPayload("Payloads may nest at most two levels.")
    if isinstance(value, list):
        if len(value) > 20:
            raise BadPayload("Lists are limited to 20 items.")
        return [sanitise(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if len(value) > 20:
            raise BadPayload("Objects are limited to 20 keys.")
        out = {}
        for key, item in value.items():
            if not KEY_RE.match(key):
                raise BadPayload("Keys must be short identifiers.")
            out[key] = sanitise(item, depth + 1)
        return out
    raise BadPayload("Unsupported value.")


def _public_profile(user) -> dict:
    from apps.accounts.api.serializers import PublicUserSerializer

    return dict(PublicUserSerializer(user).data)


class RealtimeConsumer(AsyncWebsocketConsumer):
    # No per-socket layer channel (an alias that is not configured): the hub subscribes for us.
    channel_layer_alias = "realtime-sockets-use-the-hub"

    async def connect(self) -> None:
        self.socket_id = uuid.uuid4().hex
        self.subscriptions: dict[str, Any] = {}
        self.rooms: set[str] = set()
        self.profile: dict | None = None
        self.rate = limits.bucket("socket_message")
        self.broadcast_rate = limits.bucket("socket_broadcast")
        self.refused_in_a_row = 0
        self.viewer_class = access.ANONYMOUS_CLASS
        self.hub = get_hub()
        self._expiry = None
        self.tracked_as: int | None = None
        error = self.scope.get("auth_error")
        await self.accept()
        WS_CONNECTIONS.inc()
        self._counted = True
        if error:
            # Accept then close with a distinct code, so browsers can tell "refresh your token".
            await self.close(code=CLOSE_TOKEN_EXPIRED if error == "token_expired" else CLOSE_TOKEN_INVALID)
            return
        await self._follow_session()
        self._watch_expiry()

    @property
    def session_id(self) -> str | None:
        sid = getattr(self.user, "auth_session_id", None)
        return str(sid) if sid else None

    async def _follow_session(self) -> None:
        """A signed-in socket lives no longer than its session: the hub closes it when the session
        ends (logout, revocation, password change, suspension, deletion), on any process."""
        if self.signed_in and self.tracked_as is None:
            self.tracked_as = self.user.pk
            await self.hub.track(self, self.user.pk)

    async def session_ended(self) -> None:
        if self.tracked_as is not None:
            await self.hub.untrack(self, self.tracked_as)
            self.tracked_as = None
        for topic in list(self.subscriptions):  # nothing more reaches it, even before the close
            await self._drop(topic)
        await self.send_error(None, "token_invalid", "This session has ended; sign in again.")
        await self.close(code=CLOSE_TOKEN_EXPIRED)

    async def standing_changed(self) -> None:
        """Role or holder tier changed: what this socket receives follows at once, and topics the
        user may no longer read are left (with an `unsubscribed` frame saying why)."""
        await database_sync_to_async(self.user.refresh_from_db)()  # also drops the cached profile
        self.viewer_class = await database_sync_to_async(access.viewer_class)(self.user)
        for topic in list(self.subscriptions):
            resolved = topics.resolve(topic)
            if resolved is not None and await resolved[0].authorise(self.user, resolved[1]):
                continue
            await self._drop(topic)
            await self.send_json({"type": "unsubscribed", "topic": topic, "ref": None, "reason": "forbidden"})

    def _watch_expiry(self) -> None:
        """A signed-in socket lives as long as its access token: send a fresh one with an `auth`
        message before it expires, or the socket closes with 4401 (as an expired token at connect)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        exp = getattr(self.user, "_rt_token_exp", None)
        if not self.signed_in or not exp or not settings.REALTIME_CLOSE_ON_TOKEN_EXPIRY:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, float(exp) - time.time())
        self._expiry = loop.call_later(delay, lambda: asyncio.ensure_future(self._expired()))

    async def _expired(self) -> None:
        await self.send_error(None, "token_expired", "The access token expired; reconnect or send a new one.")
        await self.close(code=CLOSE_TOKEN_EXPIRED)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            WS_CONNECTIONS.dec()
        hub = getattr(self, "hub", None)
        if hub is None:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        if getattr(self, "tracked_as", None) is not None:
            await hub.untrack(self, self.tracked_as)
            self.tracked_as = None
        for topic in list(self.subscriptions):
            await self._drop(topic)
        self.subscriptions = {}

    async def _drop(self, topic: str) -> None:
        self.subscriptions.pop(topic, None)
        await self.hub.leave(topic, self)
        if topic.startswith("presence:") and topic in self.rooms:
            self.rooms.discard(topic)
            try:
                await self.hub.presence_leave(topic.partition(":")[2], self, self.user.pk)
            except Exception:
                logger.warning("presence leave failed for %s", topic, exc_info=True)

    @property
    def user(self):
        return self.scope.get("user")

    @property
    def signed_in(self) -> bool:
        return bool(getattr(self.user, "is_authenticated", False))

    # -- client → server ------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        RECEIVED_FRAMES.inc()
        if not self.rate.take():
            self.refused_in_a_row += 1
            if self.refused_in_a_row >= settings.REALTIME_FLOOD_CLOSE_AFTER:
                return await self.close(code=CLOSE_FLOODING)
            return await self.send_error(None, "rate_limited", "Too many messages; slow down.")
        self.refused_in_a_row = 0
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        limit = settings.REALTIME_MAX_MESSAGE_BYTES
        if len(raw) > limit or len(raw.encode("utf-8")) > limit:
            return await self.send_error(None, "bad_message", f"Messages are limited to {limit} bytes.")
        try:
            message = json.loads(raw)
        except ValueError:
            return await self.send_error(None, "bad_message", "Messages must be JSON objects.")
        if not isinstance(message, dict):
            return await self.send_error(None, "bad_message", "Messages must be JSON objects.")
        ref = message.get("ref")
        if ref is not None and not (isinstance(ref, (str, int)) and not isinstance(ref, bool) and len(str(ref)) <= 64):
            ref = None
        kind = message.get("type")
        handler = {
            "ping": self.on_ping,
            "subscribe": self.on_subscribe,
            "unsubscribe": self.on_unsubscribe,
            "auth": self.on_auth,
            "broadcast": self.on_broadcast,
        }.get(kind if isinstance(kind, str) else None)
        if handler is None:
            return await self.send_error(ref, "bad_message", f"Unknown message type {str(kind)[:32]!r}.")
        await handler(message, ref)

    async def on_ping(self, message: dict, ref) -> None:
        await self.send_json({"type": "pong", "ref": ref})

    async def on_auth(self, message: dict, ref) -> None:
        token = message.get("token")
        if not isinstance(token, str) or not token:
            return await self.send_error(ref, "bad_message", "auth needs a token.")
        user, error = await authenticate_token(token)
        if error:
            await self.close(code=CLOSE_TOKEN_EXPIRED if error == "token_expired" else CLOSE_TOKEN_INVALID)
            return
        if self.signed_in and self.user.pk != user.pk:
            return await self.send_error(ref, "forbidden", "This socket is signed in as someone else.")
        self.scope["user"] = user
        self.profile = None
        self.viewer_class = await database_sync_to_async(access.viewer_class)(user)
        await self._follow_session()
        self._watch_expiry()
        await self.send_json({"type": "authenticated", "ref": ref, "user_id": user.pk})

    async def on_subscribe(self, message: dict, ref) -> None:
        topic = message.get("topic")
        resolved = topics.resolve(topic)
        if resolved is None:
            return await self.send_error(ref, "unknown_topic", "No such topic.")
        spec, arg = resolved
        try:
            flt = freeze_filter(topics.parse_filter(spec, message.get("filter")))
        except topics.BadFilter as exc:
            return await self.send_error(ref, "bad_message", str(exc))
        if topic not in self.subscriptions and len(self.subscriptions) >= settings.REALTIME_MAX_SUBSCRIPTIONS:
            return await self.send_error(
                ref, "bad_message", f"At most {settings.REALTIME_MAX_SUBSCRIPTIONS} subscriptions per socket."
            )
        if not await spec.authorise(self.user, arg):
            return await self.send_error(ref, "forbidden", "You may not subscribe to this topic.")
        # What content events this socket may receive (the hub compares it with each event's rule).
        self.viewer_class = await database_sync_to_async(access.viewer_class)(self.user)
        already = topic in self.subscriptions
        self.subscriptions[topic] = flt
        await self.hub.join(topic, self, flt)  # also updates the filter of an existing subscription
        await self.send_json({"type": "subscribed", "topic": topic, "ref": ref})
        if spec.name == "presence" and not already:
            await self._enter_room(topic, arg)

    async def _enter_room(self, topic: str, room: str) -> None:
        if self.profile is None:
            self.profile = await database_sync_to_async(_public_profile)(self.user)
        self.rooms.add(topic)
        members = await self.hub.presence_join(room, self, self.user.pk, self.profile)
        head = json.dumps({"type": "event", "topic": topic, "event": "presence.state", "ts": _now()})
        await self.send(text_data=head[:-1] + ', "data": {"members": ' + members + "}}")

    async def on_unsubscribe(self, message: dict, ref) -> None:
        topic = message.get("topic")
        if topic in self.subscriptions:
            await self._drop(topic)
        elif topics.resolve(topic) is None:
            return await self.send_error(ref, "unknown_topic", "No such topic.")
        await self.send_json({"type": "unsubscribed", "topic": topic, "ref": ref})

    async def on_broadcast(self, message: dict, ref) -> None:
        topic, event, data = message.get("topic"), message.get("event"), message.get("data", {})
        if not self.signed_in:
            return await self.send_error(ref, "forbidden", "Sign in to broadcast.")
        if not isinstance(topic, str) or topic not in self.rooms:
            return await self.send_error(ref, "forbidden", "Join the room (subscribe to presence:<room>) first.")
        if not isinstance(event, str) or not EVENT_NAME_RE.match(event) or event.startswith("presence."):
            return await self.send_error(ref, "bad_message", "event must be a short dotted name like chat.message.")
        if not isinstance(data, dict):
            return await self.send_error(ref, "bad_message", "data must be a JSON object.")
        try:
            clean = sanitise(data)
        except BadPayload as exc:
            return await self.send_error(ref, "bad_message", str(exc))
        if len(json.dumps(clean)) > settings.REALTIME_BROADCAST_MAX_BYTES:
            return await self.send_error(
                ref, "bad_message", f"Broadcasts are limited to {settings.REALTIME_BROADCAST_MAX_BYTES} bytes."
            )
        if not self.broadcast_rate.take():
            return await self.send_error(ref, "rate_limited", "Too many broadcasts; slow down.")
        sender = {"id": self.user.pk, "username": self.user.username}
        await abroadcast_now(topic, event, clean, sender=sender, exclude=self.socket_id)

    # -- server → client ------------------------------------------------------------------
    async def send_json(self, content: dict) -> None:
        SENT_FRAMES.inc()
        await self.send(text_data=json.dumps(content))

    async def send_error(self, ref, code: str, text: str) -> None:
        await self.send_json({"type": "error", "ref": ref, "error": {"code": code, "message": text}})

    # The hub keys subscriptions by socket object: identity hashing, not dataclass equality.
    __hash__ = object.__hash__


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
