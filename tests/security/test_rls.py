"""Row-level security, proven as the application role (tests/conftest.py switches the whole suite
to it): the database itself refuses other users' private rows, whatever the API layer does."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from apps.accounts.models import AuthSession
from apps.core import rls
from apps.notifications.models import Notification, Subscription
from apps.wallet.models import TokenBalance, WalletConnection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = [t.name for t in rls.PRIVATE_TABLES if not t.public_read]


def _own_rows(user, n: int = 0):
    now = timezone.now()
    Notification.objects.create(user=user, type="test", title=f"for {user.username}", created_at=now)
    Subscription.objects.create(user=user, target_type="post", target_id=1000 + user.pk, level="watch")
    AuthSession.objects.create(user=user, current_jti=f"jti-{user.pk}", expires_at=now + timedelta(days=1))
    wallet = WalletConnection.objects.create(user=user, address=f"Addr{user.pk:040d}"[:44], verified=True)
    TokenBalance.objects.create(wallet=wallet, mint="M" * 32, amount=5)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


@pytest.fixture
def alice():
    user = UserFactory()
    _own_rows(user)
    return user


@pytest.fixture
def bob():
    user = UserFactory()
    _own_rows(user)
    return user


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in PRIVATE:
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def _owners(table: str) -> set[int]:
    owner = next(t.owner for t in rls.PRIVATE_TABLES if t.name == table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT {owner} FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def test_the_suite_runs_as_an_unprivileged_non_owner_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (me,) = cursor.fetchone()
        assert me == settings.DATABASE_APP_USER != settings.DATABASE_OWNER["USER"]
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [me]
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", [me])
        assert cursor.fetchall() == []
        # Not a member of any role that could lend it privileges either.
        cursor.execute(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s AND (r.rolsuper OR r.rolbypassrls)",
            [me],
        )
        assert cursor.fetchall() == []


def test_every_documented_private_table_has_forced_row_level_security():
    names = [t.name for t in rls.PRIVATE_TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind = 'r' AND relnamespace = 'public'::regnamespace",
            [names],
        )
        found = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
    assert set(found) == set(names), f"missing tables: {set(names) - set(found)}"
    assert {n: v for n, v in found.items() if v != (True, True)} == {}


def test_no_table_with_a_user_column_is_left_undecided():
    """A new table holding per-user rows must be either in PRIVATE_TABLES (and forced) or in
    PUBLIC_USER_TABLES with the reason it is not private."""
    decided = {t.name for t in rls.PRIVATE_TABLES} | set(rls.PUBLIC_USER_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.column_name IN ('user_id', 'author_id', 'owner_id', 'reporter_id', 'uploader_id')"
        )
        with_users = {row[0] for row in cursor.fetchall()}
    assert with_users - decided == set()


def test_without_a_user_context_no_private_row_is_visible(alice, bob):
    with rls.system_context("test"):
        seen_by_system = _counts()
    assert all(seen_by_system[t] >= 2 for t in ("notifications", "sessions", "wallet_connections", "token_balances"))
    with transaction.atomic(), rls._context("", "", "default"):
        assert _counts() == dict.fromkeys(PRIVATE, 0)
    # And the ORM, the way the API reads:
    with transaction.atomic(), rls._context("", "", "default"):
        assert Notification.objects.count() == 0
        assert not AuthSession.objects.exists()


def test_a_user_sees_only_their_own_rows(alice, bob):
    with rls.user_context(alice.pk):
        for table in PRIVATE:
            assert _owners(table) <= {alice.pk}, table
        assert set(Notification.objects.values_list("user_id", flat=True)) == {alice.pk}
        assert set(TokenBalance.objects.values_list("wallet__user_id", flat=True)) == {alice.pk}
        assert not AuthSession.objects.filter(user=bob).exists()
        # Updates and deletes of someone else's rows touch nothing.
        assert Notification.objects.filter(user=bob).update(title="hijacked") == 0
        assert Notification.objects.filter(user=bob).delete()[0] == 0
    with rls.user_context(bob.pk):
        assert set(Notification.objects.values_list("user_id", flat=True)) == {bob.pk}
    assert Notification.objects.filter(user=bob, title="hijacked").count() == 0


@pytest.mark.parametrize("target", ["someone_else", "own"])
def test_writing_a_row_for_someone_else_fails(alice, bob, target):
    owner = bob if target == "someone_else" else alice
    with rls.user_context(alice.pk):
        if target == "own":
            Notification.objects.create(user=owner, type="t", title="mine", created_at=timezone.now())
            return
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Notification.objects.create(user=owner, type="t", title="forged", created_at=timezone.now())
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            WalletConnection.objects.create(user=owner, address="F" * 44)
        # Moving one's own row to someone else is refused too (WITH CHECK on UPDATE).
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Notification.objects.filter(user=alice).update(user=owner)


def test_points_are_public_to_read_but_only_the_system_writes_them(alice, bob):
    from apps.gamification.models import PointTransaction

    now = timezone.now()
    PointTransaction.objects.create(
        user=bob, activity="test", amount=3, idempotency_key="rls-1", created_at=now, earned_at=now
    )
    with rls.user_context(alice.pk):
        assert PointTransaction.objects.filter(user=bob).count() == 1  # GET /api/users/:id/points is public
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            PointTransaction.objects.create(
                user=alice, activity="test", amount=1000, idempotency_key="rls-2", created_at=now, earned_at=now
            )


def test_system_context_works_is_audited_and_restores_the_previous_context(alice, bob, caplog):
    from apps.core.metrics import RLS_SYSTEM_CONTEXTS

    before = RLS_SYSTEM_CONTEXTS.labels(reason="test:audit")._value.get()
    with rls.user_context(alice.pk):
        assert rls.current() == (str(alice.pk), False)
        with caplog.at_level(logging.INFO, logger="successkid.rls"), rls.system_context("test:audit"):
            assert rls.current()[1] is True
            assert set(Notification.objects.values_list("user_id", flat=True)) == {alice.pk, bob.pk}
            Notification.objects.create(user=bob, type="t", title="from the system", created_at=timezone.now())
        assert rls.current() == (str(alice.pk), False)
        assert set(Notification.objects.values_list("user_id", flat=True)) == {alice.pk}
    assert RLS_SYSTEM_CONTEXTS.labels(reason="test:audit")._value.get() == before + 1
    audit = [r for r in caplog.records if r.getMessage() == "rls.system_context reason=test:audit"]
    assert [r.rls_reason for r in audit] == ["test:audit"]


def test_a_failing_system_block_leaves_the_outer_context_intact(alice):
    with rls.user_context(alice.pk):
        with pytest.raises(ZeroDivisionError), rls.system_context("test:error"):
            raise ZeroDivisionError
        assert rls.current() == (str(alice.pk), False)


@pytest.mark.django_db(transaction=True)
def test_the_context_does_not_outlive_its_transaction_on_a_reused_connection():
    alice = UserFactory()
    _own_rows(alice)
    # A fresh transaction on this (reused, as from a pool) connection starts empty, whatever the
    # previous one set.
    from tests.rls_harness import _set

    _set("", "")  # leave the harness's session-wide test context for this test
    try:
        with transaction.atomic():
            rls.set_user(alice.pk)
            assert Notification.objects.count() == 1
        with transaction.atomic():
            assert rls.current() == ("", False)
            assert Notification.objects.count() == 0
        with rls.system_context("test"):
            pass
        assert rls.current() == ("", False)
        with transaction.atomic():
            assert Notification.objects.count() == 0
    finally:
        _set("", "on")


def test_requests_on_one_connection_never_inherit_the_previous_users_context(alice, bob, make_client, api_client):
    a, b = make_client(alice), make_client(bob)
    mine = a.get("/api/notifications").json()["data"]
    assert {n["title"] for n in mine} == {f"for {alice.username}"}
    theirs = b.get("/api/notifications").json()["data"]
    assert {n["title"] for n in theirs} == {f"for {bob.username}"}
    assert api_client.get("/api/notifications").status_code == 401
    # Sessions of another user are invisible through the API too.
    sessions = {s["id"] for s in b.get("/api/auth/sessions").json()["data"]}
    alices = {str(pk) for pk in AuthSession.objects.filter(user=alice).values_list("pk", flat=True)}
    assert sessions and alices and not sessions & alices


def test_set_user_is_one_statement_per_request(alice, make_client, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    client = make_client(alice)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/api/notifications")
    assert sum("set_config" in q["sql"] for q in ctx.captured_queries) == 1


def test_a_replayed_refresh_token_revokes_its_family_despite_the_error_response(api_client, alice):
    from apps.accounts.tokens import issue_token_pair

    alice.set_password("pw-Strong-123!")
    alice.save()
    pair = issue_token_pair(alice)
    first = api_client.post("/api/auth/refresh", {"refresh": pair["refresh"]}, format="json")
    assert first.status_code == 200
    from rest_framework_simplejwt.tokens import RefreshToken

    AuthSession.objects.filter(user=alice).update(rotated_at=timezone.now() - timedelta(hours=1))  # past the grace
    replay = api_client.post("/api/auth/refresh", {"refresh": pair["refresh"]}, format="json")
    assert replay.status_code == 401

    session = AuthSession.objects.get(pk=RefreshToken(pair["refresh"], verify=False)["sid"])
    assert session.revoked_reason == "reuse" and session.revoked_at is not None


def test_celery_jobs_run_in_the_audited_system_context(alice, bob):
    from celery import shared_task

    from apps.core.metrics import RLS_SYSTEM_CONTEXTS

    @shared_task(name="tests.security.rls_probe")
    def probe():
        return [rls.current()[1], Notification.objects.count()]

    before = RLS_SYSTEM_CONTEXTS.labels(reason="celery:tests.security.rls_probe")._value.get()
    with rls.user_context(alice.pk):
        assert Notification.objects.count() == 1
        # Eager here, a worker in production: either way the job sees every user's rows...
        assert probe.delay().get() == [True, 2]
        # ...and the caller's context is back afterwards.
        assert rls.current() == (str(alice.pk), False)
    assert RLS_SYSTEM_CONTEXTS.labels(reason="celery:tests.security.rls_probe")._value.get() == before + 1


def test_event_receivers_run_in_the_system_context(alice, bob):
    from dataclasses import dataclass

    from apps.core import events

    @dataclass(frozen=True)
    class Probe(events.DomainEvent):
        user_id: int

    seen = []

    def receiver(event):
        seen.append((rls.current()[1], Notification.objects.filter(user_id=event.user_id).count()))

    events.subscribe(Probe, receiver)
    try:
        with rls.user_context(alice.pk):
            events.dispatch(Probe(user_id=bob.pk))  # a receiver may act for someone else (bob)
            assert rls.current() == (str(alice.pk), False)
    finally:
        events.unsubscribe(Probe, receiver)
    assert seen == [(True, 1)]
