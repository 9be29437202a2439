"""Presence per room: who is in `presence:<room>`, shared by every ASGI process.

An entry is one socket of one user in one room, with an expiry that the owning process renews
every heartbeat. A user with several tabs is one member: a join is announced when their first
live socket enters, a leave when their last one goes (closed, unsubscribed, or expired because its
process died). Two stores:

- Redis (when REDIS_URL is set): per room a sorted set of member user ids scored by expiry, per
  (room, user) a sorted set of socket ids scored by expiry, and a hash of member profiles; the
  keys carry TTLs, and Lua scripts make join/leave/sweep atomic.
- Database: the `realtime_presence` table, for deployments without Redis.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings


class PresenceStore(Protocol):
    async def join(self, room: str, user_id: int, socket_id: str, profile: dict) -> bool: ...
    async def leave(self, room: str, user_id: int, socket_id: str) -> dict | None: ...
    async def refresh(self, entries: list[tuple[str, int, str]]) -> None: ...
    async def sweep(self, room: str) -> list[dict]: ...
    async def members(self, room: str) -> list[dict]: ...
    async def members_json(self, room: str) -> str: ...


def _ttl() -> float:
    return float(settings.REALTIME_PRESENCE_TTL_SECONDS)


# -- Redis ---------------------------------------------------------------------------------------
_JOIN = """
local room, sockets, profiles = KEYS[1], KEYS[2], KEYS[3]
local now, expires, sid, uid, profile, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local live_before = redis.call('ZCOUNT', sockets, '(' .. now, '+inf')
redis.call('ZADD', sockets, expires, sid)
local prev = redis.call('ZSCORE', room, uid)
if (not prev) or tonumber(prev) < expires then redis.call('ZADD', room, expires, uid) end
redis.call('HSET', profiles, uid, profile)
redis.call('EXPIRE', sockets, ttl) redis.call('EXPIRE', room, ttl) redis.call('EXPIRE', profiles, ttl)
if live_before == 0 then return 1 end
return 0
"""
_LEAVE = """
local room, sockets, profiles = KEYS[1], KEYS[2], KEYS[3]
local now, sid, uid = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call('ZREM', sockets, sid) == 0 then return false end
if redis.call('ZCOUNT', sockets, '(' .. now, '+inf') > 0 then return false end
redis.call('DEL', sockets)
if redis.call('ZREM', room, uid) == 0 then return false end
local profile = redis.call('HGET', profiles, uid)
redis.call('HDEL', profiles, uid)
return profile or '{}'
"""
_SWEEP = """
local room, profiles, prefix = KEYS[1], KEYS[2], ARGV[2]
local now = tonumber(ARGV[1])
local gone = {}
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', room, '-inf', now)) do
  local sockets = prefix .. uid
  redis.call('ZREMRANGEBYSCORE', sockets, '-inf', now)
  if redis.call('ZCARD', sockets) == 0 then
    redis.call('ZREM', room, uid)
    table.insert(gone, redis.call('HGET', profiles, uid) or '{}')
    redis.call('HDEL', profiles, uid)
  else
    local top = redis.call('ZRANGE', sockets, -1, -1, 'WITHSCORES')
    redis.call('ZADD', room, top[2], uid)
  end
end
return gone
"""


class RedisPresenceStore:
    def __init__(self, url: str, prefix: str = "rt:presence:") -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.prefix = prefix
        self._clients: dict[int, Any] = {}
        self._aioredis = aioredis

    def _client(self):
        import asyncio

        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._aioredis.Redis.from_url(self.url, decode_responses=True)
        return client

    def _keys(self, room: str, user_id: int | str | None = None) -> tuple[str, str, str]:
        base = f"{self.prefix}{room}"
        return base, f"{base}:s:{user_id}", f"{base}:p"

    async def join(self, room: str, user_id: int, socket_id: str, profile: dict) -> bool:
        now = time.time()
        ttl = _ttl()
        keys = self._keys(room, user_id)
        args = [now, now + ttl, socket_id, user_id, json.dumps(profile, default=str), int(ttl) + 5]
        return bool(await self._client().eval(_JOIN, 3, *keys, *args))

    async def leave(self, room: str, user_id: int, socket_id: str) -> dict | None:
        result = await self._client().eval(_LEAVE, 3, *self._keys(room, user_id), time.time(), socket_id, user_id)
        return json.loads(result) if result else None

    async def refresh(self, entries: list[tuple[str, int, str]]) -> None:
        if not entries:
            return
        now = time.time()
        ttl = _ttl()
        async with self._client().pipeline(transaction=False) as pipe:
            for room, user_id, socket_id in entries:
                room_key, sockets, profiles = self._keys(room, user_id)
                pipe.zadd(sockets, {socket_id: now + ttl})
                pipe.zadd(room_key, {str(user_id): now + ttl}, gt=True)
                for key in (sockets, room_key, profiles):
                    pipe.expire(key, int(ttl) + 5)
            await pipe.execute()

    async def sweep(self, room: str) -> list[dict]:
        room_key, _, profiles = self._keys(room)
        gone = await self._client().eval(_SWEEP, 2, room_key, profiles, time.time(), f"{room_key}:s:")
        return [json.loads(p) for p in gone or ()]

    async def members(self, room: str) -> list[dict]:
        return await members_from_redis(self._client(), self._keys(room), is_async=True)

    async def members_json(self, room: str) -> str:
        """The members as a JSON array, spliced from the stored profile JSON without decoding it
        (a join into a big room costs one HMGET and one join of strings, not N decodes+encodes)."""
        room_key, _, profiles = self._keys(room)
        client = self._client()
        uids = await client.zrangebyscore(room_key, f"({time.time()}", "+inf")
        raw = await client.hmget(profiles, uids) if uids else []
        return "[" + ",".join(p if p else json.dumps({"id": int(u)}) for u, p in zip(uids, raw, strict=False)) + "]"

    def members_sync(self, room: str) -> list[dict]:
        import redis

        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            room_key, _, profiles = self._keys(room)
            uids = client.zrangebyscore(room_key, f"({time.time()}", "+inf")
            return _profiles(uids, client.hmget(profiles, uids) if uids else [])
        finally:
            client.close()


async def members_from_redis(client, keys: tuple[str, str, str], *, is_async: bool) -> list[dict]:
    room_key, _, profiles = keys
    uids = await client.zrangebyscore(room_key, f"({time.time()}", "+inf")
    raw = await client.hmget(profiles, uids) if uids else []
    return _profiles(uids, raw)


def _profiles(uids: list[str], raw: list[str | None]) -> list[dict]:
    out = []
    for uid, profile in zip(uids, raw, strict=False):
        try:
            out.append(json.loads(profile) if profile else {"id": int(uid)})
        except ValueError:
            out.append({"id": int(uid)})
    out.sort(key=lambda p: str(p.get("username", p.get("id"))).lower())
    return out


# -- Database ------------------------------------------------------------------------------------
class DatabasePresenceStore:
    @staticmethod
    def _now():
        from django.utils import timezone

        return timezone.now()

    def _join(self, room: str, user_id: int, socket_id: str, profile: dict) -> bool:
        from datetime import timedelta

        from django.db import transaction

        from apps.realtime.models import PresenceEntry

        now = self._now()
        with transaction.atomic():
            # Serialise joins of one user in one room so two tabs opening at once announce once.
            PresenceEntry.lock_member(room, user_id)
            live = PresenceEntry.objects.filter(room=room, user_id=user_id, expires_at__gt=now).exists()
            PresenceEntry.objects.update_or_create(
                room=room,
                socket_id=socket_id,
                defaults={"user_id": user_id, "profile": profile, "expires_at": now + timedelta(seconds=_ttl())},
            )
        return not live

    def _leave(self, room: str, user_id: int, socket_id: str) -> dict | None:
        from django.db import transaction

        from apps.realtime.models import PresenceEntry

        now = self._now()
        with transaction.atomic():
            PresenceEntry.lock_member(room, user_id)
            entry = PresenceEntry.objects.filter(room=room, socket_id=socket_id).first()
            if entry is None:
                return None
            entry.delete()
            if PresenceEntry.objects.filter(room=room, user_id=user_id, expires_at__gt=now).exists():
                return None
            PresenceEntry.objects.filter(room=room, user_id=user_id).delete()
            return entry.profile

    def _refresh(self, entries: list[tuple[str, int, str]]) -> None:
        from datetime import timedelta

        from apps.realtime.models import PresenceEntry

        if entries:
            PresenceEntry.objects.filter(socket_id__in=[sid for _, _, sid in entries]).update(
                expires_at=self._now() + timedelta(seconds=_ttl())
            )

    def _sweep(self, room: str) -> list[dict]:
        from django.db import transaction

        from apps.realtime.models import PresenceEntry

        now = self._now()
        gone = []
        with transaction.atomic():
            expired = list(
                PresenceEntry.objects.select_for_update(skip_locked=True).filter(room=room, expires_at__lte=now)
            )
            if not expired:
                return []
            PresenceEntry.objects.filter(pk__in=[e.pk for e in expired]).delete()
            live = set(
                PresenceEntry.objects.filter(room=room, expires_at__gt=now, user_id__in={e.user_id for e in expired})
                .values_list("user_id", flat=True)
                .distinct()
            )
            seen = set()
            for e in expired:
                if e.user_id not in live and e.user_id not in seen:
                    seen.add(e.user_id)
                    gone.append(e.profile)
        return gone

    def members_sync(self, room: str) -> list[dict]:
        from apps.realtime.models import PresenceEntry

        rows = (
            PresenceEntry.objects.filter(room=room, expires_at__gt=self._now())
            .order_by("user_id", "-expires_at")
            .distinct("user_id")
            .values_list("profile", flat=True)
        )
        out = list(rows)
        out.sort(key=lambda p: str(p.get("username", p.get("id"))).lower())
        return out

    async def join(self, room, user_id, socket_id, profile) -> bool:
        return await database_sync_to_async(self._join)(room, user_id, socket_id, profile)

    async def leave(self, room, user_id, socket_id) -> dict | None:
        return await database_sync_to_async(self._leave)(room, user_id, socket_id)

    async def refresh(self, entries) -> None:
        await database_sync_to_async(self._refresh)(entries)

    async def sweep(self, room) -> list[dict]:
        return await database_sync_to_async(self._sweep)(room)

    async def members(self, room) -> list[dict]:
        return await database_sync_to_async(self.members_sync)(room)

    async def members_json(self, room) -> str:
        return json.dumps(await self.members(room))


_stores: dict[tuple, PresenceStore] = {}


def get_store() -> PresenceStore:
    backend = settings.REALTIME_PRESENCE_BACKEND
    url = getattr(settings, "REALTIME_REDIS_URL", "") or settings.REDIS_URL
    key = (backend, url)
    store = _stores.get(key)
    if store is None:
        store = RedisPresenceStore(url) if backend == "redis" and url else DatabasePresenceStore()
        _stores[key] = store
    return store
