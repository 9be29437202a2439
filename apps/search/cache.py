"""Versioned cache keys. Every key embeds the current content version; a content change (a receiver
of the forum's events) stores a new version, so every older key is simply never read again and
expires on its own TTL: invalidation without a flush or a key scan.

The version is a nanosecond timestamp rather than a counter: if the cache loses the key (Redis
restarted), a fresh version can never coincide with keys written under an older one."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "search:content-version"


def content_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = time.time_ns()
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY) or version
    return int(version)


def bump_content_version() -> int:
    version = time.time_ns()
    cache.set(VERSION_KEY, version, None)
    return version


def make_key(kind: str, parts: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode(), usedforsecurity=False)
    return f"search:{kind}:{content_version()}:{digest.hexdigest()}"


def get(key: str) -> Any:
    return cache.get(key)


def put(key: str, value: Any, timeout: int) -> None:
    cache.set(key, value, timeout)
