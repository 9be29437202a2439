"""Django's PostgreSQL backend with a connection-pool checkout check that costs no round trip.

With CONN_HEALTH_CHECKS Django gives its pool psycopg's `ConnectionPool.check_connection`, an empty
query on every checkout: a round trip on every request (~8% of a cached leaderboard request in a
py-spy profile). A pooled connection sits idle between requests, and an idle connection's socket
has nothing to read unless the server wrote to it: the FATAL message a backend sends when
PostgreSQL shuts down or an administrator terminates it, then EOF. So the socket is polled first
(no I/O), and the full check runs only when something is waiting there. A failed check makes the
pool discard the connection and hand out another: a restarted server still costs no request an
error. (tests/core/test_pgbackend.py runs this against the real server.)
"""

from __future__ import annotations

import select
import threading
import time

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

_request_thread = threading.local()


def mark_request_thread() -> None:
    """This thread is one of the ASGI handler's long-lived request threads
    (successkid.asgi.RequestThreads): its connection (pooled or not) stays open from one request to
    the next for up to DB_POOL_HOLD_SECONDS. Django gives a pooled connection back at every
    request's end and takes one again at the next request's first query (its connect(): state,
    signals, bookkeeping), about a tenth of a small read. Between requests it is idle in
    autocommit, with no transaction and no RLS setting, and before a request reuses it its socket
    is polled as at a pool checkout (`_idle_and_quiet`)."""
    _request_thread.on = True


def _hold_seconds() -> int:
    from django.conf import settings

    return settings.DB_POOL_HOLD_SECONDS if getattr(_request_thread, "on", False) else 0


def check_idle_connection(conn) -> None:
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


def _idle_and_quiet(conn) -> bool:
    """check_idle_connection as a yes/no, for a connection this thread kept."""
    try:
        check_idle_connection(conn)
    except Exception:
        return False
    return not conn.closed


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        created = self.alias not in self._connection_pools
        pool = super().pool
        if created and pool is not None and self.settings_dict["CONN_HEALTH_CHECKS"]:
            # Django builds the pool (closed until first use) and passes its own check; psycopg_pool
            # has no setter for it, so it is replaced once here, before the pool opens.
            pool._check = check_idle_connection
        return pool

    def connect(self):
        super().connect()
        seconds = _hold_seconds()
        if seconds > 0:
            self.close_at = time.monotonic() + seconds

    def close_if_unusable_or_obsolete(self):
        if self.connection is not None and getattr(_request_thread, "on", False) and _hold_seconds() <= 0:
            self.close_at = time.monotonic()  # holding was turned off: give it back now
        super().close_if_unusable_or_obsolete()
        if self.connection is not None and not _idle_and_quiet(self.connection):
            self.close()
