"""A second connection to the default database, per thread, in autocommit: what is written
through it commits at once, whatever the request's own transaction (ATOMIC_REQUESTS) does later.

Used by the limiter's PostgreSQL counters (apps.core.limits) and by the database cache
(`AutocommitDatabaseCache`): a failed request rolls its transaction back, and must not take its
failed-login count or a circuit breaker's state with it. The connection follows the default
alias's settings (the test database, the application role) and is rebuilt when they change.

It comes from a pool of its own and goes back after each use (`release`): whatever runs it (a
request thread, a socket's database thread, a Celery worker) never holds a slot between two
statements, and a request holding a connection of the default pool never waits on that pool for
this one. A pooled checkout costs no round trip (apps.core.pgbackend).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import logging
import pickle
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import DatabaseError, connections, router
from django.utils import timezone

logger = logging.getLogger(__name__)
_local = threading.local()
POOLS: dict = {}  # the autocommit connections' pools, apart from the requests' ones


def own_connection():
    """This thread's autocommit connection (a Django DatabaseWrapper outside `connections`)."""
    wanted = connections["default"].settings_dict
    ident = (wanted.get("NAME"), wanted.get("USER"), wanted.get("HOST"), wanted.get("PORT"))
    conn = getattr(_local, "conn", None)
    # No liveness probe here (is_usable() is a round trip per call): execute() reconnects once when
    # the connection turns out to be dropped.
    if conn is not None and getattr(_local, "ident", None) != ident:
        close()
        conn = None
    if conn is None:
        conn = connections.create_connection("default")
        # A pool of its own (pools are kept per alias): a request holds one connection of the
        # default pool in its transaction while it borrows this one, so with a shared pool a few
        # more concurrent requests than connections each waited for the other's (bench/load: 503s
        # after DB_POOL_TIMEOUT while a killed web worker's share of the load went to the others).
        conn._connection_pools = POOLS  # Django keeps pools per alias in this (class-level) dict
        _local.conn, _local.ident = conn, ident
    return conn


def release(conn) -> None:
    """Give a pooled connection back after each use. ASGI runs each request's sync code in a
    thread of its own, so a connection kept per thread would never return to the pool: every
    signed-in request leaked one, and the pool ran dry (bench/load: 503s after 10 s waits)."""
    if conn.pool is not None and conn.connection is not None:
        conn.close()


def execute(sql: str, params: list) -> list:
    """Run one statement on the own connection (reconnecting once if it was dropped)."""
    for attempt in (1, 2):
        conn = own_connection()
        try:
            pool = conn.pool
            if pool is not None:
                if pool.closed:
                    pool.open()  # as Django's connect() does when nothing has opened it yet
                # Straight from the pool: the wrapper's connect() and close() (connection state,
                # signals, bookkeeping) cost several times the statement, on every API request.
                with pool.connection() as raw:
                    if not raw.autocommit:
                        raw.autocommit = True
                    with raw.cursor() as cursor:
                        cursor.execute(sql, params)
                        return cursor.fetchall() if cursor.description else []
            conn.ensure_connection()
            # The driver's cursor, not Django's wrapper: these statements run on every API request
            # (the limiter), and the wrapper's bookkeeping cost more than the statement (~0.08 ms).
            with conn.connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except Exception:
            close()
            if attempt == 2:
                raise
        finally:
            release(conn)
    return []


def close() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        try:
            conn.close()
        except Exception:
            logger.debug("closing the autocommit connection failed", exc_info=True)


class AutocommitDatabaseCache(DatabaseCache):
    """Django's database cache on the own autocommit connection instead of the request's."""

    @contextlib.contextmanager
    def _own(self) -> Iterator[None]:
        own = own_connection()
        aliases = {router.db_for_read(self.cache_model_class), router.db_for_write(self.cache_model_class)}
        saved = {alias: connections[alias] for alias in aliases}
        for alias in aliases:  # `connections` is per thread / per task: nobody else sees the swap
            connections[alias] = own
        try:
            yield
        finally:
            for alias, conn in saved.items():
                connections[alias] = conn
            release(own)

    def get_many(self, keys, version=None):
        """Django's read in one statement on the pooled connection, without swapping Django's
        connections in and out (a feed-cache hit is this read and little else)."""
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not key_map:
            return {}
        table = connections["default"].ops.quote_name(self._table)
        rows = execute(f"SELECT cache_key, value, expires FROM {table} WHERE cache_key = ANY(%s)", [list(key_map)])  # noqa: S608
        now, found, expired = timezone.now(), {}, []
        for key, value, expires in rows:
            if expires < now:
                expired.append(key)
            else:
                found[key_map[key]] = pickle.loads(base64.b64decode(value.encode()))  # noqa: S301  (what Django's DatabaseCache stores)
        if expired:
            self._base_delete_many(expired)
        return found

    def _base_set(self, mode, key, value, timeout=DEFAULT_TIMEOUT):
        """Django's set/add/touch as one statement. Django's own counts the whole table first
        (`SELECT COUNT(*)` on every write, to cull past MAX_ENTRIES), then reads the row, then
        writes it: four statements and a scan. Here the cull runs on every CULL_EVERY-th write."""
        now = timezone.now().replace(microsecond=0)
        backend_timeout = self.get_backend_timeout(timeout)
        expires = (
            datetime.max.replace(tzinfo=UTC)
            if backend_timeout is None
            else datetime.fromtimestamp(backend_timeout, tz=UTC).replace(microsecond=0)
        )
        table = connections["default"].ops.quote_name(self._table)
        if next(self._writes) % self.CULL_EVERY == 0:
            self._cull_now(now)
        if mode == "touch":
            sql = f"UPDATE {table} SET expires = %s WHERE cache_key = %s AND expires >= %s RETURNING 1"  # noqa: S608
            params = [expires, key, now]
        else:
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            only_if_gone = " WHERE c.expires < %s" if mode == "add" else ""
            sql = (
                f"INSERT INTO {table} AS c (cache_key, value, expires) VALUES (%s, %s, %s) ON CONFLICT (cache_key)"  # noqa: S608
                f" DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires{only_if_gone} RETURNING 1"
            )
            params = [key, encoded, expires] + ([now] if mode == "add" else [])
        try:
            return bool(execute(sql, params))
        except DatabaseError:
            return False  # as Django's: a cache write may fail quietly

    CULL_EVERY = 100
    _writes = itertools.count(1)

    def _cull_now(self, now) -> None:
        """Django's cull (expired rows, then a share of the rest past MAX_ENTRIES)."""
        with self._own():
            db = router.db_for_write(self.cache_model_class)
            with connections[db].cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {connections[db].ops.quote_name(self._table)}")  # noqa: S608
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    self._cull(db, cursor, now, count)

    def _base_delete_many(self, keys):
        with self._own():
            return super()._base_delete_many(keys)

    def has_key(self, key, version=None):
        with self._own():
            return super().has_key(key, version=version)

    def clear(self):
        with self._own():
            return super().clear()
