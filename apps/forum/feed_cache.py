"""Shared cache of anonymous feed pages (GET /api/posts without credentials).

Only anonymous requests read or fill it: an anonymous page carries no personal field (`my_vote` is
0, no private category is readable), so it is the same for every anonymous caller; a signed-in
caller always gets a freshly computed page with their own votes.

A page is stored rendered: the JSON bytes of the answer, their ETag and their gzip encoding, so a
hit is one cache read with no rendering and no compressing (GZipMiddleware leaves an answer that is
already encoded alone; the hit sets what it would have: Vary, a weak ETag). A sparse fieldset (`?fields=`) is part of the key: each shape is its own entry.
One read per request: `get_many` of the feed version and the page, stored as (version, body,
ETag); the page is used only if it was stored under the current version. The version is bumped (a
nanosecond timestamp, so a Redis that lost it never resurrects an old page) by the domain events
that change what a page lists or shows: a post created, edited, deleted, moderated, pinned or
locked, and any change of the categories (their access rules decide what anonymous callers see).
Votes and comments do not bump it (under load that would empty the cache on every click): scores,
comment counts and the score- or activity-driven orders (hot, top, controversial, active) of a
cached page are at most FEED_CACHE_SECONDS old.

Redis when present, else the default cache; any cache error is a miss, so a lost cache serves
from the database.

Each process also keeps the pages it served in the last FEED_CACHE_LOCAL_SECONDS (1 s) in its own
memory (`_LocalPages`) and answers them again without asking the shared cache: the busiest pages
cost no round trip at all. A version bump in this process forgets them at once; one made in another
process reaches this one's copies when they expire, so a page can be up to that long behind a post
created, edited or removed through another process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable
from time import monotonic

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import quote_etag
from django.utils.regex_helper import _lazy_re_compile

from apps.core.middleware import gzip_bytes
from apps.core.refcache import ReferenceDataChanged
from apps.forum.reference import CATEGORIES

logger = logging.getLogger(__name__)

VERSION_KEY = "feed:version"
# Query parameters that select a page; the validated sparse fieldset is added to the key.
PARAMS = ("sort", "period", "category", "tag", "author", "cursor", "limit")
CONTENT_TYPE = "application/json; charset=utf-8"  # as the API's renderer answers
_ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")  # as GZipMiddleware reads Accept-Encoding
_GZIP_FROM = 200  # bytes: GZipMiddleware leaves shorter answers as they are


def _cache():
    return caches[settings.FEED_CACHE_ALIAS]


def applies_to(request) -> bool:
    user = getattr(request, "user", None)
    return settings.FEED_CACHE_SECONDS > 0 and not (user and user.is_authenticated)


def page_key(query_params, fields: Iterable[str] | None = None) -> str:
    parts = {name: query_params.get(name, "") for name in PARAMS}
    parts["fields"] = sorted(fields or ())
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return f"feed:page:{digest}"


class _LocalPages:
    """This process's copies of the pages it read from or stored in the shared cache, each for
    FEED_CACHE_LOCAL_SECONDS, at most MAX_PAGES of them (the oldest go first)."""

    MAX_PAGES = 256

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: dict[str, tuple[float, dict]] = {}

    def get(self, key: str, now: float) -> dict | None:
        found = self.pages.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def put(self, key: str, entry: dict, now: float) -> None:
        seconds = settings.FEED_CACHE_LOCAL_SECONDS
        if seconds <= 0:
            return
        with self.lock:
            self.pages.pop(key, None)
            while len(self.pages) >= self.MAX_PAGES:
                del self.pages[next(iter(self.pages))]
            self.pages[key] = (now + seconds, entry)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


_local = _LocalPages()


def get(key: str, request) -> tuple[HttpResponse | None, int | None]:
    """(the cached answer or None, the current version to store a fresh page under)."""
    now = monotonic()
    entry = _local.get(key, now)
    if entry is not None:
        return answer(entry, request, "hit"), entry["v"]
    try:
        found = _cache().get_many([VERSION_KEY, key])
    except Exception:
        logger.warning("feed cache unreachable; serving from the database", exc_info=True)
        return None, None
    version = found.get(VERSION_KEY)
    if version is None:
        version = _new_version(only_if_missing=True)
        return None, version
    entry = found.get(key)
    if entry and entry.get("v") == version and isinstance(entry.get("content"), bytes):
        _local.put(key, entry, now)
        return answer(entry, request, "hit"), version
    return None, version


def put(key: str, version: int | None, content: bytes, request) -> HttpResponse:
    """Stores the rendered page (when the cache answered) and returns it as the answer."""
    entry = {
        "v": version,
        "content": content,
        "etag": quote_etag(hashlib.md5(content, usedforsecurity=False).hexdigest()),  # as ConditionalGetMiddleware
        "gzip": gzip_bytes(content) if len(content) >= _GZIP_FROM else None,
    }
    if version is not None:
        try:
            _cache().set(key, entry, settings.FEED_CACHE_SECONDS)
        except Exception:
            logger.warning("feed cache unreachable; page not stored", exc_info=True)
        else:
            _local.put(key, entry, monotonic())
    return answer(entry, request, "miss")


def answer(entry: dict, request, state: str) -> HttpResponse:
    """The page as sent: its ETag is set, so ConditionalGetMiddleware answers 304 without hashing
    it, and a caller that accepts gzip gets the stored encoding, as GZipMiddleware would send it."""
    response = HttpResponse(entry["content"], content_type=CONTENT_TYPE)
    response["ETag"] = entry["etag"]
    response["X-Feed-Cache"] = state
    encoded = entry.get("gzip")  # None: too short to compress (or stored before encodings were)
    if encoded is not None:
        patch_vary_headers(response, ("Accept-Encoding",))
        accepts = _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if accepts and len(encoded) < len(entry["content"]):
            response.content = encoded
            response["Content-Length"] = str(len(encoded))
            response["Content-Encoding"] = "gzip"
            response["ETag"] = "W/" + entry["etag"]
    return response


def _new_version(*, only_if_missing: bool = False) -> int | None:
    version = time.time_ns()
    try:
        if only_if_missing:
            if not _cache().add(VERSION_KEY, version, None):
                return _cache().get(VERSION_KEY)
        else:
            _cache().set(VERSION_KEY, version, None)
    except Exception:
        logger.warning("feed cache unreachable; could not store its version", exc_info=True)
        return None
    return version


def invalidate(event=None) -> None:
    """Receiver (apps/forum/receivers.py): forum content or categories changed."""
    if isinstance(event, ReferenceDataChanged) and event.name != CATEGORIES:
        return
    _new_version()
    clear_local()


def clear_local() -> None:
    """Forget this process's copies of pages (a version bump here; tests start with none)."""
    _local.clear()
