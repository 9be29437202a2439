"""Per-process cache of hot reference data: small tables read on almost every request and changed
rarely (categories and their access rules, tag ids, levels, the points activities, achievement
definitions). Each process keeps the loaded values in memory, so a feed request does not re-read
the categories table to decide what the caller may see.

    refcache.register("forum.categories", load_categories, models=[Category])
    refcache.get("forum.categories")        # loaded once, then served from memory

Invalidation (a change in one process must reach the others): a write to a registered model emits
`ReferenceDataChanged` (a domain event, so only after commit). Its receiver drops the local copy at
once and stores a new version for that name in the shared cache (Redis when configured, else the
default cache). Every process compares its loaded versions with the shared ones at most once per
`REFERENCE_CACHE_CHECK_SECONDS` (one `get_many`, ~0.1 ms on Redis) and reloads what moved. We chose
a version key over a channel-layer broadcast because it needs no listener task in every process
(Celery workers and management commands included), and a lost message cannot leave a process stale
for ever: a missed broadcast would, a version is re-read.

Versions are nanosecond timestamps (as in apps.search.cache): if Redis loses them, the re-created
version differs from every older one, so processes reload once rather than trusting stale data.
If the shared cache is unreachable, a process keeps its values but reloads them after
`REFERENCE_CACHE_MAX_AGE` seconds anyway: staleness is bounded even when Redis is down.

Warming: `warm()` loads every registered name. The ASGI lifespan startup (successkid/asgi.py) calls
it in each web worker before the first request; anything not warmed loads on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models.signals import post_delete, post_save

from apps.core import events

logger = logging.getLogger(__name__)

_VERSION_KEY = "refcache:v:{}"


@dataclass(frozen=True)
class ReferenceDataChanged(events.DomainEvent):
    name: str


@dataclass
class _Entry:
    value: Any
    version: int | None  # the shared version seen when loaded (None: unknown, cache unreachable)
    loaded_at: float


_loaders: dict[str, Callable[[], Any]] = {}
_entries: dict[str, _Entry] = {}
_lock = threading.Lock()
_last_check = 0.0


def register(name: str, loader: Callable[[], Any], *, models: Iterable[type] = ()) -> None:
    """`loader()` builds the value from the database. A save or delete of any of `models`
    invalidates it everywhere (after commit)."""
    _loaders[name] = loader
    for model in models:
        handler = _signal_handler(name)
        post_save.connect(handler, sender=model, weak=False, dispatch_uid=f"refcache.save.{name}.{model.__name__}")
        post_delete.connect(handler, sender=model, weak=False, dispatch_uid=f"refcache.del.{name}.{model.__name__}")


def _signal_handler(name: str):
    def handler(sender, **kwargs) -> None:
        if kwargs.get("raw"):  # loaddata: the loader that follows invalidates explicitly
            return
        invalidate(name)

    return handler


def _shared():
    return caches[settings.REFERENCE_CACHE_ALIAS]


def _shared_versions(names: list[str]) -> dict[str, int] | None:
    """The shared versions of `names` (created if missing); None when the cache is unreachable."""
    keys = {name: _VERSION_KEY.format(name) for name in names}
    try:
        found = _shared().get_many(list(keys.values()))
        versions = {}
        for name, key in keys.items():
            value = found.get(key)
            if value is None:
                value = time.time_ns()
                if not _shared().add(key, value, None):
                    value = _shared().get(key) or value
            versions[name] = int(value)
        return versions
    except Exception:
        logger.warning("reference cache: shared versions unreachable", exc_info=True)
        return None


def _check(now: float) -> None:
    """Drop entries whose shared version moved (or that are older than the max age)."""
    global _last_check
    if now - _last_check < settings.REFERENCE_CACHE_CHECK_SECONDS:
        return
    _last_check = now
    loaded = list(_entries)
    if not loaded:
        return
    versions = _shared_versions(loaded)
    max_age = settings.REFERENCE_CACHE_MAX_AGE
    with _lock:
        for name in loaded:
            entry = _entries.get(name)
            if entry is None:
                continue
            moved = versions is not None and versions.get(name) != entry.version
            if moved or now - entry.loaded_at > max_age:
                _entries.pop(name, None)


def get(name: str) -> Any:
    now = time.monotonic()
    _check(now)
    entry = _entries.get(name)
    if entry is not None:
        return entry.value
    # Read the version before loading: a change committed during the load bumps it again, so the
    # next check reloads instead of keeping what we read.
    versions = _shared_versions([name])
    value = _loaders[name]()
    with _lock:
        _entries[name] = _Entry(value, versions.get(name) if versions else None, now)
    return value


def invalidate(name: str) -> None:
    """Announce that `name` changed: this process drops its copy now (its own reads may already see
    the write), every process after the transaction commits (the event bumps the shared version)."""
    with _lock:
        _entries.pop(name, None)
    events.emit(ReferenceDataChanged(name=name))


def on_changed(event: ReferenceDataChanged) -> None:
    """Receiver (apps/core/receivers.py): drop this copy and publish a new shared version."""
    with _lock:
        _entries.pop(event.name, None)
    try:
        _shared().set(_VERSION_KEY.format(event.name), time.time_ns(), None)
    except Exception:
        logger.warning("reference cache: could not publish a new version of %s", event.name, exc_info=True)


def clear_local() -> None:
    """Forget every loaded value in this process (tests; fixture loaders)."""
    global _last_check
    with _lock:
        _entries.clear()
    _last_check = 0.0


def warm(names: Iterable[str] | None = None) -> list[str]:
    """Load every registered name (or `names`) now; returns what was loaded."""
    done = []
    for name in names or list(_loaders):
        try:
            get(name)
            done.append(name)
        except Exception:
            logger.warning("reference cache: could not warm %s", name, exc_info=True)
    return done


def registered() -> list[str]:
    return sorted(_loaders)
