"""The per-process fan-out hub: one channel-layer subscription per process per topic.

Plain Channels gives every socket its own layer channel and joins it to the topic's group, so a
broadcast to 2,000 sockets is 2,000 layer deliveries, each going through a consumer's receive loop
and a database-connection clean-up thread hop (see bench/README.md). Here the process owns ONE
layer channel; the first local subscriber of a topic joins that channel to the topic's group, the
last one leaving removes it. A published event therefore reaches each process once (one Redis
PUBLISH, or one NOTIFY without Redis), and the hub hands the frame, JSON-encoded once by the
publisher, to every local socket's ASGI `send` in one loop. Filters are evaluated once per
distinct filter per event, with the frame decoded at most once. Nothing here touches the
database, except per-user frames (core.push: one builder query per bulk event for the users
connected to this process).

Presence lives here too: the hub renews its sockets' presence entries every heartbeat, sweeps
entries whose process died, and batches joins and leaves per room into one `presence.diff`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import deque
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from apps.core import access
from apps.core.metrics import WS_MESSAGES
from apps.core.push import (
    PER_USER_GROUP,
    abroadcast_now,
    event_message,
    group_name,
    per_user_builder,
    session_group,
)
from apps.realtime import topics
from apps.realtime.presence import get_store

logger = logging.getLogger(__name__)

Filter = frozenset  # frozenset of (key, frozenset(values)) pairs; hashable, so verdicts are shared


def freeze_filter(flt: dict[str, frozenset[str]] | None) -> Filter | None:
    return frozenset(flt.items()) if flt else None


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.subs: dict[str, dict[Any, Filter | None]] = {}
        self.presence_local: dict[tuple[str, str], int] = {}  # (room, socket id) -> user id
        self.signed_in: dict[int, set] = {}  # user id -> this process's sockets signed in as them
        self._pending: dict[str, dict[str, dict]] = {}
        self._flush_scheduled: set[str] = set()
        self._starting: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()

    # -- lifecycle ------------------------------------------------------------------------------
    async def ensure_started(self) -> None:
        if self.channel is not None:
            return
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        channel = await self.layer.new_channel("hub.")
        self.channel = channel
        await self.layer.group_add(PER_USER_GROUP, channel)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._heartbeat())]

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("realtime hub: layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                if message.get("type") == "realtime.event":
                    await self.fan_out(message)
                elif message.get("type") == "realtime.close":
                    await self.close_sessions(message)
                elif message.get("type") == "realtime.refresh":
                    await self.refresh_viewers(message)
                elif message.get("type") == "realtime.per_user":
                    # Off the read loop: building thousands of frames must not hold up other events.
                    task = asyncio.create_task(self._per_user_logged(message))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
            except Exception:
                logger.exception("realtime hub: fan-out failed")

    async def _heartbeat(self) -> None:
        beat = float(settings.REALTIME_PRESENCE_HEARTBEAT_SECONDS)
        refresh_every = float(settings.REALTIME_GROUP_REFRESH_SECONDS)
        since_refresh = 0.0
        while True:
            await asyncio.sleep(beat)
            since_refresh += beat
            try:
                await self.heartbeat_once()
                if since_refresh >= refresh_every:
                    since_refresh = 0.0
                    await self.layer.group_add(PER_USER_GROUP, self.channel)
                    for topic in list(self.subs):
                        await self.layer.group_add(group_name(topic), self.channel)
                    for user_id in list(self.signed_in):
                        await self.layer.group_add(session_group(user_id), self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("realtime hub: heartbeat failed", exc_info=True)

    async def heartbeat_once(self) -> None:
        """Renew this process's presence entries and drop (with a leave) those nobody renewed."""
        store = get_store()
        entries = [(room, uid, sid) for (room, sid), uid in self.presence_local.items()]
        await store.refresh(entries)
        for room in {room for room, _ in self.presence_local}:
            for profile in await store.sweep(room):
                self._queue_diff(room, "leaves", profile)

    # -- topics ---------------------------------------------------------------------------------
    async def join(self, topic: str, socket, flt: Filter | None) -> None:
        await self.ensure_started()
        subs = self.subs.get(topic)
        if subs is None:
            subs = self.subs[topic] = {}
            subs[socket] = flt
            await self.layer.group_add(group_name(topic), self.channel)
        else:
            subs[socket] = flt

    async def leave(self, topic: str, socket) -> None:
        subs = self.subs.get(topic)
        if subs is None:
            return
        subs.pop(socket, None)
        if not subs:
            del self.subs[topic]
            try:
                await self.layer.group_discard(group_name(topic), self.channel)
            except Exception:
                logger.warning("realtime hub: group_discard failed for %s", topic, exc_info=True)

    async def fan_out(self, message: dict) -> int:
        topic = message.get("topic")
        subs = self.subs.get(topic)
        if not subs:
            return 0
        out = {"type": "websocket.send", "text": message["frame"]}
        exclude = message.get("exclude")
        event = message.get("event", "")
        # A content event carries its read rule: checked once per viewer class, not per socket.
        audience = message.get("audience")
        rule = access.Rule.from_wire(audience) if audience is not None else None
        admitted: dict[access.ViewerClass, bool] = {}
        verdicts: dict[Filter, bool] = {}
        data: Any = _UNSET
        spec = None
        sent = 0
        for socket, flt in list(subs.items()):
            if exclude is not None and socket.socket_id == exclude:
                continue
            if rule is not None:
                viewer = getattr(socket, "viewer_class", access.ANONYMOUS_CLASS)
                allowed = admitted.get(viewer)
                if allowed is None:
                    allowed = admitted[viewer] = rule.admits(viewer)
                if not allowed:
                    continue
            if flt is not None:
                verdict = verdicts.get(flt)
                if verdict is None:
                    if data is _UNSET:
                        data = json.loads(message["frame"]).get("data")
                        resolved = topics.resolve(topic)
                        spec = resolved[0] if resolved else None
                    verdict = verdicts[flt] = spec is not None and topics.matches(spec, dict(flt), event, data)
                if not verdict:
                    continue
            if push(socket, out):
                sent += 1
        return sent

    async def _per_user_logged(self, message: dict) -> None:
        try:
            await self.fan_out_per_user(message)
        except Exception:
            logger.exception("realtime hub: per-user fan-out failed")

    async def fan_out_per_user(self, message: dict) -> int:
        """Frames computed for the users with a `user:<id>` subscriber here (core.push
        "per-user frames"): one builder call for all of them, then a local fan-out each."""
        builder = per_user_builder(message.get("builder", ""))
        user_ids = [int(t[5:]) for t in self.subs if t.startswith("user:") and t[5:].isdigit()]
        if builder is None or not user_ids:
            return 0
        frames = await sync_to_async(_build_per_user, thread_sensitive=True)(
            builder, message.get("payload", {}), user_ids
        )
        sent = 0
        for user_id, (event, data) in frames.items():
            topic = f"user:{user_id}"
            sent += await self.fan_out(event_message(topic, event, data))
        return sent

    # -- sessions -------------------------------------------------------------------------------
    async def track(self, socket, user_id: int) -> None:
        """A socket signed in as `user_id`: it closes when that user's session ends (close_sessions)."""
        await self.ensure_started()
        sockets = self.signed_in.get(user_id)
        if sockets is None:
            sockets = self.signed_in[user_id] = set()
            await self.layer.group_add(session_group(user_id), self.channel)
        sockets.add(socket)

    async def untrack(self, socket, user_id: int) -> None:
        sockets = self.signed_in.get(user_id)
        if sockets is None:
            return
        sockets.discard(socket)
        if not sockets:
            del self.signed_in[user_id]
            try:
                await self.layer.group_discard(session_group(user_id), self.channel)
            except Exception:
                logger.warning("realtime hub: group_discard failed for user %s", user_id, exc_info=True)

    async def _each_signed_in(self, message: dict, act, keep=lambda socket: True) -> int:
        """Run `act(socket)` on each of the message's user's sockets here that `keep` selects."""
        done = 0
        for socket in list(self.signed_in.get(int(message.get("user_id", 0)), ())):
            if not keep(socket):
                continue
            try:
                await act(socket)
                done += 1
            except Exception:
                logger.warning("realtime hub: %s failed for a socket", message.get("type"), exc_info=True)
        return done

    async def close_sessions(self, message: dict) -> int:
        sessions, keep = message.get("sessions"), message.get("except")

        def ended(socket) -> bool:
            sid = socket.session_id
            return (sessions is None or sid in sessions) and not (keep and sid == keep)

        return await self._each_signed_in(message, lambda socket: socket.session_ended(), ended)

    async def refresh_viewers(self, message: dict) -> int:
        """The user's standing changed: each of their sockets here re-reads its viewer class."""
        return await self._each_signed_in(message, lambda socket: socket.standing_changed())

    # -- presence -------------------------------------------------------------------------------
    async def presence_join(self, room: str, socket, user_id: int, profile: dict) -> str:
        """Enter the room; returns the members as a JSON array (for the joiner's presence.state)."""
        store = get_store()
        self.presence_local[(room, socket.socket_id)] = user_id
        if await store.join(room, user_id, socket.socket_id, profile):
            self._queue_diff(room, "joins", profile)
        return await store.members_json(room)

    async def presence_leave(self, room: str, socket, user_id: int) -> None:
        self.presence_local.pop((room, socket.socket_id), None)
        profile = await get_store().leave(room, user_id, socket.socket_id)
        if profile is not None:
            self._queue_diff(room, "leaves", profile)

    def _queue_diff(self, room: str, kind: str, profile: dict) -> None:
        pending = self._pending.setdefault(room, {"joins": {}, "leaves": {}})
        uid = profile.get("id")
        other = "leaves" if kind == "joins" else "joins"
        if uid in pending[other]:
            # Joined and left (or left and came back) within one window: the others saw no change.
            del pending[other][uid]
        else:
            pending[kind][uid] = profile
        if room not in self._flush_scheduled:
            self._flush_scheduled.add(room)
            asyncio.get_running_loop().call_later(
                float(settings.REALTIME_PRESENCE_BATCH_SECONDS), lambda: asyncio.ensure_future(self.flush_diff(room))
            )

    async def flush_diff(self, room: str) -> None:
        self._flush_scheduled.discard(room)
        pending = self._pending.pop(room, None)
        if not pending or not (pending["joins"] or pending["leaves"]):
            return
        await abroadcast_now(
            f"presence:{room}",
            "presence.diff",
            {"joins": list(pending["joins"].values()), "leaves": list(pending["leaves"].values())},
        )


def _build_per_user(builder, payload: dict, user_ids: list[int]) -> dict:
    from django.db import close_old_connections

    from apps.core import rls

    try:
        with rls.system_context("realtime:per-user-frames"):
            return builder(payload, user_ids)
    finally:
        close_old_connections()  # outside any request: give the connection back


_UNSET = object()
MAX_BACKLOG = 256  # frames queued for a socket that stopped reading before it is closed
CLOSE_SLOW_CONSUMER = 4008


SENT_FRAMES = WS_MESSAGES.labels("out")


def push(socket, out: dict) -> bool:
    """Hand a frame to a socket's ASGI send without letting one slow reader stall the loop.

    The send coroutine is stepped inline: for a healthy socket it finishes at once (the bytes go
    to the transport) and no task is created. If it blocks (the peer stopped reading and the
    transport paused writing), the rest of that send and any later frames for the socket continue
    in one background task; past MAX_BACKLOG queued frames the socket is closed.
    """
    SENT_FRAMES.inc()
    backlog = getattr(socket, "_rt_backlog", None)
    if backlog is not None:
        if len(backlog) >= MAX_BACKLOG:
            if not getattr(socket, "_rt_closing", False):
                socket._rt_closing = True
                asyncio.ensure_future(_close_quietly(socket))
            return False
        backlog.append(out)
        return True
    coro = socket.base_send(out)
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return True
    except Exception:
        return False
    socket._rt_backlog = deque()
    asyncio.ensure_future(_finish_slow_sends(socket, coro, waiting_on))
    return True


async def _finish_slow_sends(socket, coro, waiting_on) -> None:
    try:
        await _resume(coro, waiting_on)
        backlog = socket._rt_backlog
        while backlog:
            await socket.base_send(backlog.popleft())
    except Exception:
        logger.debug("realtime hub: a slow socket went away", exc_info=True)
    finally:
        socket._rt_backlog = None


async def _resume(coro, waiting_on) -> None:
    """Drive a coroutine that was stepped by hand, as a Task would, until it finishes."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                await waiting_on
        except BaseException as exc:  # hand the failure to the coroutine, as Task.__step does
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return


async def _close_quietly(socket) -> None:
    try:
        await socket.close(code=CLOSE_SLOW_CONSUMER)
    except Exception:
        logger.debug("realtime hub: closing a slow socket failed", exc_info=True)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in production)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        if hub is not None:
            for task in hub._tasks:
                task.cancel()
        hub = _hubs[loop] = Hub(layer)
    return hub
