"""Reads on a replica under row-level security, through requests.

The replica here is a second connection to the test database (a TEST MIRROR under its own alias,
as DATABASE_REPLICA_URLS would configure it): its own session and transactions, so what it returns
depends on the context the request set on it. Each test checks, from both connections' query logs,
which one served the request. Tests are transactional: the replica sees committed rows only.
(A real streaming replica, lag and PgBouncer: the topology tests.)
"""

from __future__ import annotations

import contextlib
import copy
import time

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.core import db_router
from apps.notifications import selectors
from apps.notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

ALIAS = "replica0"
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


def _configure(**overrides) -> None:
    conf = copy.deepcopy(connections["default"].settings_dict)
    conf.update(ATOMIC_REQUESTS=False, **overrides)
    conf["TEST"] = {**conf.get("TEST", {}), "MIRROR": "default"}
    if ALIAS in connections.settings:
        connections[ALIAS].close()
        del connections[ALIAS]
    connections.settings[ALIAS] = conf
    db_router._circuits.clear()


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup):
    """The alias exists for the module's tests (before each test's database set-up checks it)."""
    _configure()
    yield
    connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


@pytest.fixture
def add_replica():
    yield _configure
    _configure()


@pytest.fixture
def replica():
    db_router._circuits.clear()
    return connections[ALIAS]


@contextlib.contextmanager
def served():
    """(primary's SQL, replica's SQL) run inside the block."""
    primary, replica = [], []
    with CaptureQueriesContext(connections["default"]) as p, CaptureQueriesContext(connections[ALIAS]) as r:
        yield primary, replica
    # Django logs BEGIN and COMMIT even when psycopg sends neither (no statement in between).
    control = ("BEGIN", "COMMIT", "ROLLBACK")
    primary.extend(q["sql"] for q in p.captured_queries if q["sql"] not in control)
    replica.extend(q["sql"] for q in r.captured_queries if q["sql"] not in control)


def reads(sqls: list[str], table: str) -> bool:
    return any(f'FROM "{table}"' in sql for sql in sqls)


@pytest.fixture
def me():
    return UserFactory()


@pytest.fixture
def inbox(me):
    mine = NotificationFactory(user=me)
    NotificationFactory(user=UserFactory())  # someone else's
    return mine


def test_a_get_reads_from_the_replica_in_a_read_only_transaction_with_the_users_context(
    replica, make_client, me, inbox
):
    client = make_client(me)
    with served() as (primary, on_replica):
        response = client.get("/api/notifications")
    assert response.status_code == 200
    # Row-level security on the replica: only the caller's notification (none without the context).
    assert [n["id"] for n in response.json()["data"]] == [inbox.id]
    # The first statement on the replica makes its transaction read-only and sets the user.
    first = on_replica[0]
    assert "set_config('transaction_read_only', 'on', true)" in first
    assert f"set_config('app.user_id', '{me.pk}', true)" in first
    assert reads(on_replica, "notifications") and reads(on_replica, "users")
    assert not reads(primary, "notifications") and not reads(primary, "users")
    # The one statement on the primary (the inbox's last-visit upsert) ran with the user's context.
    assert f"set_config('app.user_id', '{me.pk}', true)" in primary[0]


def test_a_get_the_replica_serves_sends_the_primary_nothing(replica, make_client, me):
    client = make_client(me)
    with served() as (primary, on_replica):
        assert client.get("/api/users/me").json()["data"]["id"] == me.pk
    assert reads(on_replica, "users")
    assert primary == []


def test_without_a_user_the_replica_has_no_private_rows(replica, api_client, inbox):
    with served() as (_, on_replica):
        assert api_client.get("/api/notifications").status_code == 401
        assert api_client.get("/api/tags").status_code == 200
    assert "set_config('app.user_id', '', true)" in on_replica[0]


def test_a_write_sent_to_the_replica_connection_fails_loudly(replica, make_client, me, inbox, monkeypatch):
    original = selectors.notification_list

    def writes_on_the_replica(*, user, **kwargs):
        Notification.objects.using(ALIAS).filter(user=user).update(title="changed")
        return original(user=user, **kwargs)

    monkeypatch.setattr(selectors, "notification_list", writes_on_the_replica)
    response = make_client(me).get("/api/notifications")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    inbox.refresh_from_db()
    assert inbox.title != "changed"


@pytest.mark.parametrize("how", ["orm", "raw"])
def test_a_get_that_writes_reads_the_rest_of_the_request_from_the_primary(
    how, replica, make_client, me, inbox, monkeypatch
):
    original = selectors.notification_list

    def marks_read_first(*, user, **kwargs):
        if how == "orm":
            Notification.objects.filter(user=user).update(title="seen")
        else:
            with connection.cursor() as cursor:
                cursor.execute("UPDATE notifications SET title = 'seen' WHERE user_id = %s", [user.pk])
        return original(user=user, **kwargs)

    monkeypatch.setattr(selectors, "notification_list", marks_read_first)
    client = make_client(me)
    with served() as (primary, on_replica):
        response = client.get("/api/notifications")
    # The list was read after the write, on the primary, in the same transaction: it sees it.
    assert [n["title"] for n in response.json()["data"]] == ["seen"]
    assert reads(primary, "notifications") and not reads(on_replica, "notifications")
    inbox.refresh_from_db()
    assert inbox.title == "seen"  # committed
    assert cache.get(db_router.marker_key(str(me.pk)))  # and remembered for read-your-writes


def test_a_write_statement_that_changed_nothing_does_not_move_the_reads(replica, make_client, me, inbox):
    client = make_client(me)
    client.get("/api/notifications")  # the inbox's first visit is recorded: a write
    key = db_router.marker_key(str(me.pk))
    assert cache.get(key)
    cache.delete(key)
    with served() as (primary, on_replica):
        client.get("/api/notifications")  # the same upsert within five minutes changes no row
    assert any("INSERT INTO notification_settings" in sql for sql in primary)
    assert cache.get(key) is None


def test_unsafe_methods_run_on_the_primary_only(replica, make_client, me, inbox):
    client = make_client(me)
    with served() as (primary, on_replica):
        response = client.post("/api/notifications/read", {"all": True}, format="json")
    assert response.status_code == 200, response.json()
    assert on_replica == []
    assert reads(primary, "users")


def _behind(monkeypatch):
    """The replica reports it has replayed almost nothing (a mirror is not a standby: NULL)."""
    monkeypatch.setattr(db_router, "REPLAY_POSITION_SQL", "'0/1'::pg_lsn")


def test_after_a_write_the_writer_reads_the_primary_until_the_replica_has_replayed_it(
    replica, make_client, me, inbox, monkeypatch, settings
):
    settings.DATABASE_READ_YOUR_WRITES_SECONDS = 60
    client = make_client(me)
    assert client.post("/api/notifications/read", {"all": True}, format="json").status_code == 200
    position = cache.get(db_router.marker_key(str(me.pk)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::pg_lsn <= pg_current_wal_lsn()", [position])
        assert cursor.fetchone()[0]

    _behind(monkeypatch)
    with served() as (primary, on_replica):
        data = client.get("/api/notifications").json()["data"]
    assert data[0]["read"] is True
    assert reads(primary, "notifications") and not reads(on_replica, "notifications")

    # Someone else is not held back by that write.
    other_client = make_client(UserFactory())
    with served() as (primary, on_replica):
        assert other_client.get("/api/notifications").status_code == 200
    assert reads(on_replica, "notifications") and not reads(primary, "notifications")

    # Once the replica has replayed past the write, the writer reads it again.
    monkeypatch.setattr(db_router, "REPLAY_POSITION_SQL", "pg_current_wal_lsn()")
    with served() as (primary, on_replica):
        assert client.get("/api/notifications").json()["data"][0]["read"] is True
    assert reads(on_replica, "notifications") and not reads(primary, "notifications")


def test_the_read_your_writes_window_ends(replica, make_client, me, inbox, monkeypatch, settings):
    settings.DATABASE_READ_YOUR_WRITES_SECONDS = 1
    client = make_client(me)
    assert client.post("/api/notifications/read", {"all": True}, format="json").status_code == 200
    _behind(monkeypatch)
    time.sleep(1.2)
    with served() as (primary, on_replica):
        client.get("/api/notifications")
    assert reads(on_replica, "notifications") and not reads(primary, "notifications")


def test_when_the_last_write_cannot_be_looked_up_the_primary_answers(replica, make_client, me, inbox, monkeypatch):
    client = make_client(me)

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(db_router.cache, "get", unreachable)
    with served() as (primary, on_replica):
        assert client.get("/api/notifications").json()["data"][0]["id"] == inbox.id
    assert reads(primary, "notifications") and not reads(on_replica, "notifications")


def test_a_replica_lagging_beyond_the_bound_is_skipped(replica, make_client, me, inbox, monkeypatch, settings):
    monkeypatch.setattr(db_router, "REPLAY_LAG_SQL", "30")
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 10
    client = make_client(me)
    with served() as (primary, on_replica):
        assert client.get("/api/notifications").json()["data"][0]["id"] == inbox.id
    assert reads(primary, "notifications") and not reads(on_replica, "notifications")

    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 60
    with served() as (primary, on_replica):
        assert client.get("/api/notifications").json()["data"][0]["id"] == inbox.id
    assert reads(on_replica, "notifications") and not reads(primary, "notifications")


def test_an_unreachable_replica_is_benched_and_the_primary_answers(add_replica, make_client, me, inbox):
    add_replica(HOST="127.0.0.1", PORT="1")  # nothing listens there
    client = make_client(me)
    with CaptureQueriesContext(connections["default"]) as primary:
        assert client.get("/api/notifications").json()["data"][0]["id"] == inbox.id
    assert reads([q["sql"] for q in primary.captured_queries], "notifications")
    assert not db_router._circuits[ALIAS].allows(time.time())
    started = time.monotonic()
    assert client.get("/api/notifications").status_code == 200  # benched: not tried again
    assert time.monotonic() - started < 1


def test_reads_in_a_system_context_stay_on_the_primary(replica, make_client, me, inbox, monkeypatch):
    """A block that acts as the system has its context on the primary only: its reads go there
    (on the replica they would see the user's rows only), and the user's own context is back after it."""
    from apps.core import rls

    original = selectors.notification_list
    seen = {}

    def counts_everyone(*, user, **kwargs):
        with rls.system_context("test"):
            seen["all"] = Notification.objects.count()
        return original(user=user, **kwargs)

    monkeypatch.setattr(selectors, "notification_list", counts_everyone)
    client = make_client(me)
    with served() as (primary, on_replica):
        response = client.get("/api/notifications")
    assert seen["all"] == 2
    assert [n["id"] for n in response.json()["data"]] == [inbox.id]
    assert reads(primary, "notifications") and reads(on_replica, "notifications")
    # The user's context reached the primary before the block's first statement.
    assert f"set_config('app.user_id', '{me.pk}', true)" in primary[0]


def test_the_admin_reads_from_the_primary(replica, client, inbox):
    staff = UserFactory(is_staff=True, is_superuser=True, role="admin")
    client.force_login(staff)
    with served() as (primary, on_replica):
        assert client.get("/admin/notifications/notification/").status_code == 200
    assert on_replica == []
    assert reads(primary, "notifications")
