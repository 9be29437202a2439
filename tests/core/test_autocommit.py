"""The autocommit connection (apps.core.autocommit) is released at the end of each request, as
Django releases its own: under ASGI every request runs on a new thread, and a pooled connection
kept per thread past its request held its pool slot for good (the default set-up, no Redis, stopped
answering after about eight requests)."""

from __future__ import annotations

import pytest

from apps.core import autocommit

pytestmark = pytest.mark.django_db
NO_REDIS_CACHE = {"BACKEND": "apps.core.autocommit.AutocommitDatabaseCache", "LOCATION": "core_cache"}


def test_a_request_gives_the_autocommit_connection_back(api_client, settings):
    settings.LIMITS_REDIS_URL = ""  # the limiter counts in PostgreSQL on the autocommit connection
    settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
    settings.FEED_CACHE_SECONDS = 15  # and the feed cache reads the database cache on it
    try:
        for _ in range(3):
            assert api_client.get("/api/posts?sort=new").status_code == 200
            conn = autocommit._local.conn
            assert conn is not None, "the request did not use the autocommit connection"
            assert conn.connection is None, "the autocommit connection outlived its request"
    finally:
        autocommit.close()
