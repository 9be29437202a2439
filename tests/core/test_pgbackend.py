"""The pool's checkout check (apps.core.pgbackend) against the real server: no round trip for a
healthy idle connection, and a connection whose backend was terminated is caught and replaced."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from apps.core.pgbackend.base import check_idle_connection

pytestmark = pytest.mark.django_db


def _params() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return {**params, "autocommit": True}


def _terminate(pid: int) -> None:
    with psycopg.connect(**_params()) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True


def _wait_readable(conn, seconds: float = 5.0) -> None:
    readable, _, _ = select.select([conn.fileno()], [], [], seconds)
    assert readable, "the server did not write to the terminated connection"


def test_a_healthy_idle_connection_is_passed_without_a_query(monkeypatch):
    checks = []
    monkeypatch.setattr(ConnectionPool, "check_connection", classmethod(lambda cls, conn: checks.append(conn)))
    with psycopg.connect(**_params()) as conn:
        conn.execute("SELECT 1")
        check_idle_connection(conn)
    assert checks == []


def test_a_terminated_backend_fails_the_check():
    with psycopg.connect(**_params()) as conn:
        _terminate(conn.info.backend_pid)
        _wait_readable(conn)
        with pytest.raises(psycopg.OperationalError):
            check_idle_connection(conn)


def test_the_pool_replaces_a_terminated_connection_without_an_error():
    pool = ConnectionPool(kwargs=_params(), min_size=1, max_size=1, check=check_idle_connection, open=True)
    try:
        with pool.connection() as conn:
            first = conn.info.backend_pid
        _terminate(first)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not select.select([pool._pool[0].fileno()], [], [], 0.05)[0]:
            pass
        with pool.connection(timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != first
    finally:
        pool.close()


@pytest.mark.parametrize("health_checks", [True, False])
def test_the_backend_gives_djangos_pool_this_check_when_health_checks_are_on(health_checks):
    from apps.core.pgbackend.base import DatabaseWrapper

    settings_dict = {
        **connection.settings_dict,
        "CONN_HEALTH_CHECKS": health_checks,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 2}},
    }
    wrapper = DatabaseWrapper(settings_dict, alias=f"pool_check_{health_checks}")
    try:
        assert wrapper.pool._check is (check_idle_connection if health_checks else None)
        assert wrapper.pool is wrapper.pool  # built once
    finally:
        wrapper.close_pool()
