"""The test suite runs as the application role (tests/conftest.py). The test body itself is the
system (it builds fixtures and checks private rows), while every request through Django's test
client starts with no context at all, as a fresh production transaction does."""

from __future__ import annotations

import contextlib

from django.db import connections
from django.test import client as django_client


def _set(user: str, system: str) -> tuple[str, str]:
    """Set both settings on the default connection, transaction-local inside the test's transaction
    (rolled back with it) and session-wide in transactional tests (reset at teardown). Through the
    raw driver cursor, so query-count assertions see only the application's queries."""
    conn = connections["default"]
    conn.ensure_connection()
    local = conn.in_atomic_block
    with conn.connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.user_id', true), current_setting('app.system', true),"
            " set_config('app.user_id', %s, %s), set_config('app.system', %s, %s)",
            [user, local, system, local],
        )
        before_user, before_system, _, _ = cursor.fetchone()
    return before_user or "", before_system or ""


_original_call = django_client.ClientHandler.__call__


def _call_with_empty_context(self, environ):
    conn = connections["default"]
    if conn.connection is None or conn.needs_rollback:
        return _original_call(self, environ)
    before = _set("", "")
    start = len(conn.queries_log)
    try:
        return _original_call(self, environ)
    finally:
        _hide_request_savepoint(conn, start)
        if conn.connection is not None and not conn.needs_rollback:
            _set(*before)


def _hide_request_savepoint(conn, start: int) -> None:
    """In production the request's transaction (ATOMIC_REQUESTS) is BEGIN/COMMIT, which query
    counts never see; inside a test's transaction it becomes SAVEPOINT/RELEASE. Drop that one pair
    from the query log so query budgets measure the same thing as in production."""
    log = list(conn.queries_log)
    if len(log) <= start or not conn.queries_logged:
        return
    new = log[start:]
    if new and new[0]["sql"].startswith("SAVEPOINT"):
        new.pop(0)
        for i in range(len(new) - 1, -1, -1):
            if new[i]["sql"].startswith(("RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
                new.pop(i)
                break
    conn.queries_log.clear()
    conn.queries_log.extend(log[:start] + new)


@contextlib.contextmanager
def test_body_context():
    _set("", "on")
    django_client.ClientHandler.__call__ = _call_with_empty_context
    try:
        yield
    finally:
        django_client.ClientHandler.__call__ = _original_call
        conn = connections["default"]
        if conn.connection is not None and not conn.in_atomic_block:
            with contextlib.suppress(Exception), conn.cursor() as cursor:
                cursor.execute("RESET app.user_id; RESET app.system")


@contextlib.contextmanager
def owner_cursor():
    """A separate, autocommit connection as the database owner, for test scaffolding the
    application role may not do (DDL such as disabling a trigger). It sees committed data only:
    use it from transactional tests."""
    import psycopg
    from django.conf import settings

    db = connections["default"].settings_dict
    params = {"dbname": db["NAME"], "user": settings.DATABASE_OWNER["USER"], "autocommit": True}
    if db.get("HOST"):
        params["host"] = db["HOST"]
    if db.get("PORT"):
        params["port"] = db["PORT"]
    if settings.DATABASE_OWNER.get("PASSWORD"):
        params["password"] = settings.DATABASE_OWNER["PASSWORD"]
    with psycopg.connect(**params) as conn, conn.cursor() as cursor:
        yield cursor
