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

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def check_idle_connection(conn) -> None:
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


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
