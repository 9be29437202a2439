"""The one WebSocket (API.md "Real-time"): authenticate, subscribe to topics, receive events."""

from __future__ import annotations

import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.realtime import group_name
from apps.realtime import topics
from apps.realtime.middleware import authenticate_token

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
MAX_SUBSCRIPTIONS = 50
CLOSE_TOKEN_EXPIRED = 4401
CLOSE_TOKEN_INVALID = 4403


class RealtimeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.subscriptions: set[str] = set()
        error = self.scope.get("auth_error")
        if error:
            # Accept then close with a distinct code, so browsers can tell "refresh your token".
            await self.accept()
            await self.close(code=CLOSE_TOKEN_EXPIRED if error == "token_expired" else CLOSE_TOKEN_INVALID)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for topic in list(getattr(self, "subscriptions", ())):
            await self.channel_layer.group_discard(group_name(topic), self.channel_name)
        self.subscriptions = set()

    # -- client → server ------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8")) > MAX_MESSAGE_BYTES:
            return await self.send_error(None, "bad_message", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
        try:
            message = json.loads(raw)
        except ValueError:
            return await self.send_error(None, "bad_message", "Messages must be JSON objects.")
        if not isinstance(message, dict):
            return await self.send_error(None, "bad_message", "Messages must be JSON objects.")
        ref = message.get("ref")
        if ref is not None and not isinstance(ref, (str, int)):
            ref = None
        kind = message.get("type")
        handler = {
            "ping": self.on_ping,
            "subscribe": self.on_subscribe,
            "unsubscribe": self.on_unsubscribe,
            "auth": self.on_auth,
        }.get(kind)
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
        self.scope["user"] = user
        await self.send_json({"type": "authenticated", "ref": ref, "user_id": user.pk})

    async def on_subscribe(self, message: dict, ref) -> None:
        topic = message.get("topic")
        resolved = topics.resolve(topic)
        if resolved is None:
            return await self.send_error(ref, "unknown_topic", "No such topic.")
        spec, arg = resolved
        if topic in self.subscriptions:
            return await self.send_json({"type": "subscribed", "topic": topic, "ref": ref})
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            return await self.send_error(ref, "bad_message", f"At most {MAX_SUBSCRIPTIONS} subscriptions per socket.")
        if not await spec.authorise(self.scope.get("user"), arg):
            return await self.send_error(ref, "forbidden", "You may not subscribe to this topic.")
        await self.channel_layer.group_add(group_name(topic), self.channel_name)
        self.subscriptions.add(topic)
        await self.send_json({"type": "subscribed", "topic": topic, "ref": ref})

    async def on_unsubscribe(self, message: dict, ref) -> None:
        topic = message.get("topic")
        if topic in self.subscriptions:
            await self.channel_layer.group_discard(group_name(topic), self.channel_name)
            self.subscriptions.discard(topic)
        elif topics.resolve(topic) is None:
            return await self.send_error(ref, "unknown_topic", "No such topic.")
        await self.send_json({"type": "unsubscribed", "topic": topic, "ref": ref})

    # -- server → client ------------------------------------------------------------------
    async def realtime_event(self, message: dict) -> None:
        if message.get("topic") in self.subscriptions:
            await self.send(text_data=message["frame"])

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content))

    async def send_error(self, ref, code: str, text: str) -> None:
        await self.send_json({"type": "error", "ref": ref, "error": {"code": code, "message": text}})
