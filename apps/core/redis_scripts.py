"""Atomic multi-step counter updates on the Redis behind a django-redis cache, in one round trip.

The rate limits and concurrency slots run on every request: through the cache API they were a
GET, then SET NX and INCR per counter, and a DECR per slot released: about nine Redis round trips
for one cached leaderboard page. A Lua script does each step's reads and writes on the server,
atomically, in one. Keys go through the cache's `make_key`, and values stay plain integers, so the
same counters remain readable and writable through the cache API (tests, `record_failure`).

Other cache backends (the per-process memory cache without Redis) keep the portable path:
`redis_client()` returns None for them. Scripts touch several keys: fine on one Redis server or a
replicated pair, not on Redis Cluster (the keys would need a hash tag).
"""

from __future__ import annotations

from typing import Any


def redis_client(cache) -> Any | None:
    """The redis-py client behind a django-redis cache, else None."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


class LuaScript:
    """Run with EVALSHA on any client; redis-py loads the source on the first NOSCRIPT."""

    def __init__(self, source: str):
        self.source = source
        self._script = None

    def __call__(self, client, keys: list[str], args: list[Any]) -> Any:
        if self._script is None:
            self._script = client.register_script(self.source)
        return self._script(keys=keys, args=args, client=client)
