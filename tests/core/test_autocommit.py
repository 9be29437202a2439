"""The autocommit connection (apps.core.autocommit) under a connection pool: ASGI runs each
request's sync code in a thread of its own, so whatever a thread keeps, the pool never gets back."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.core import autocommit

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_pool():
    """The default alias pooled (as in production: DB_POOL) with room for two connections."""
    wrapper = connections["default"]
    options = wrapper.settings_dict["OPTIONS"]
    options["pool"] = {"min_size": 1, "max_size": 2, "timeout": 2}
    try:
        yield
    finally:
        options.pop("pool")
        autocommit.close()
        for pools in (type(wrapper)._connection_pools, autocommit.POOLS):
            pool = pools.pop("default", None)
            if pool is not None:
                pool.close()


def test_statements_from_many_request_threads_never_drain_the_pool(small_pool):
    errors: list[Exception] = []

    def one_request() -> None:
        try:
            assert autocommit.execute("SELECT 1", []) == [(1,)]
        except Exception as exc:  # a drained pool: PoolTimeout after 2 s
            errors.append(exc)

    for _ in range(6):  # six requests, one after the other, each in a new thread
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    assert errors == []
    pool = autocommit.POOLS["default"]
    assert pool.get_stats()["pool_size"] <= 2
    assert pool.get_stats().get("pool_available", 0) >= 1  # given back


def test_a_request_holding_its_pool_dry_still_gets_an_autocommit_connection(small_pool):
    """Requests each hold a connection of the default pool in their transaction (here: all of
    it) and then count a limit on the autocommit connection: it must not wait on that pool."""
    from django.db import transaction

    held = threading.Event()
    done = threading.Event()
    errors: list[Exception] = []

    def holder() -> None:
        with transaction.atomic():
            connections["default"].ensure_connection()
            held.set()
            done.wait(10)
        connections["default"].close()

    def request() -> None:
        try:
            with transaction.atomic():
                connections["default"].ensure_connection()  # the second of the two
                assert autocommit.execute("SELECT 1", []) == [(1,)]
        except Exception as exc:
            errors.append(exc)
        finally:
            connections["default"].close()

    other = threading.Thread(target=holder)
    other.start()
    assert held.wait(10)
    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    done.set()
    other.join()
    assert errors == []


NO_REDIS_CACHE = {"BACKEND": "apps.core.autocommit.AutocommitDatabaseCache", "LOCATION": "core_cache"}


def test_a_request_gives_the_pooled_autocommit_connection_back(small_pool, api_client, settings):
    """The default set-up (no Redis): the limiter counts on it and the feed cache reads through it."""
    settings.LIMITS_REDIS_URL = ""
    settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
    settings.FEED_CACHE_SECONDS = 15
    for _ in range(3):
        assert api_client.get("/api/posts?sort=new").status_code == 200
        conn = autocommit._local.conn
        assert conn is not None, "the request did not use the autocommit connection"
        assert conn.connection is None, "the autocommit connection outlived its use"


@pytest.mark.django_db(transaction=True)
def test_the_database_cache_keeps_djangos_semantics_in_one_statement_a_write(settings, autocommit_statements):
    """set, add (only over a missing or expired entry), touch (only a live one), get_many, expiry;
    each write is one statement: Django's own counted the whole table on every write."""
    import time

    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
    cache = caches["default"]
    statements = autocommit_statements
    try:
        cache.set("a", {"x": 1}, 60)
        assert cache.add("a", "other", 60) is False and cache.get("a") == {"x": 1}
        assert cache.add("b", b"bytes", 60) is True
        assert cache.get_many(["a", "b", "missing"]) == {"a": {"x": 1}, "b": b"bytes"}
        cache.set("gone", 1, 1)
        time.sleep(1.1)
        assert cache.get("gone") is None
        assert cache.touch("gone", 60) is False
        assert cache.add("gone", 2, 60) is True and cache.get("gone") == 2  # over an expired entry
        assert cache.touch("a", None) is True
        cache.set("forever", "yes", None)
        assert cache.get("forever") == "yes"
        writes = [sql for sql in statements if "INSERT" in sql or "UPDATE" in sql]
        assert len(writes) == 8 and not any("COUNT(*)" in sql for sql in statements)
    finally:
        cache.clear()
