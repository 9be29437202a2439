from __future__ import annotations

import io
import os

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


def _connect_as(user: str, password: str) -> None:
    from django.conf import settings
    from django.db import connections

    for alias in settings.DATABASES:
        connections[alias].close()
        for settings_dict in (settings.DATABASES[alias], connections[alias].settings_dict):
            settings_dict.update(USER=user, PASSWORD=password)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Row-level security is proven by running the whole suite as the application role: the test
    database is created and migrated as the owner (pytest-django's setup), then the roles and grants
    are applied (`create_db_roles`) and every connection switches to the app role. Teardown goes
    back to the owner to drop the database."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import TransactionTestCase

    owner = dict(settings.DATABASE_OWNER)
    app = (settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD)
    with django_db_blocker.unblock():
        call_command("create_db_roles", stdout=io.StringIO())
        _connect_as(*app)

    # Transactional tests end with a TRUNCATE of every table (Django's flush): a maintenance step
    # the application role may not do (TRUNCATE ignores row-level security), so it runs as the owner.
    original_teardown = TransactionTestCase._fixture_teardown

    def _fixture_teardown_as_owner(self):
        _connect_as(owner["USER"], owner["PASSWORD"])
        try:
            original_teardown(self)
        finally:
            _connect_as(*app)

    TransactionTestCase._fixture_teardown = _fixture_teardown_as_owner
    yield
    TransactionTestCase._fixture_teardown = original_teardown
    with django_db_blocker.unblock():
        _connect_as(owner["USER"], owner["PASSWORD"])


@pytest.fixture(autouse=True)
def _rls_test_body_is_the_system(request):
    """The test body (factories, direct service calls, assertions on private tables) acts as the
    system, as a Celery job or the admin would. Every request made through the test client starts
    from an empty context, exactly like a fresh production transaction, and must earn its user
    through authentication; the test's context is put back afterwards (tests/rls_harness.py)."""
    if not _uses_db(request):
        yield
        return
    from tests import rls_harness

    request.getfixturevalue("_django_db_helper")

    with rls_harness.test_body_context():
        yield


def _uses_db(request) -> bool:
    return any(m.name == "django_db" for m in request.node.iter_markers()) or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _solana_rpc_offline(monkeypatch):
    """The Solana client (solana-py over httpx2, which respx does not see) never reaches a network
    in tests: unless a test replays a chain (tests/wallet's `rpc`), every call is refused."""
    import httpx2

    from apps.wallet.clients import solana_rpc

    def refuse(request):
        raise httpx2.ConnectError("no network in tests", request=request)

    monkeypatch.setattr(solana_rpc, "default_transport", lambda: httpx2.MockTransport(refuse))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached reads must not leak from one test into the next (nor the
    per-process reference data: every test's rows roll back)."""
    from django.core.cache import caches

    from apps.core import refcache
    from apps.forum import feed_cache

    for alias in ("default", "local"):
        caches[alias].clear()
    refcache.clear_local()
    feed_cache.clear_local()
    yield
    refcache.clear_local()
    feed_cache.clear_local()


@pytest.fixture(autouse=True)
def _fresh_limits(request):
    """The limiter counts outside the test's transaction (Redis, or its own autocommit connection
    to PostgreSQL), so nothing rolls its counters back: every test starts from none."""
    if not _uses_db(request):
        yield
        return
    from apps.core import limits

    request.getfixturevalue("_django_db_helper")
    limits.reset_all()
    yield


@pytest.fixture(autouse=True)
def _no_leftover_celery_task_context():
    """Celery keeps a process-wide "inside a worker" flag (set by worker start-up code paths) and a
    task stack; left over from one test they make it refuse `.get()` in later tests as if called
    from inside a task."""
    from celery._state import _set_task_join_will_block, _task_stack

    _set_task_join_will_block(False)
    while _task_stack.top is not None:
        _task_stack.pop()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def make_client():
    """make_client(user) -> an APIClient sending that user's access token."""
    from apps.accounts.tokens import issue_token_pair

    def _make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(user)['access']}")
        return client

    return _make


@pytest.fixture
def auth_client(user, make_client) -> APIClient:
    return make_client(user)


@pytest.fixture
def redis_url() -> str:
    """The Redis server for tests that need one. In CI (CI=true) a missing Redis fails the test
    instead of skipping it, so CI always exercises the real server."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REDIS_URL is not set, and CI must run the Redis tests")
        pytest.skip("REDIS_URL not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} does not answer: {exc}")
        pytest.skip(f"Redis at {url} does not answer")
    return url


@pytest.fixture
def autocommit_statements(monkeypatch) -> list[str]:
    """Every statement sent on the autocommit connection (the limiter's, the database cache's)
    from here on, in order."""
    from apps.core import autocommit

    statements: list[str] = []
    real_execute = autocommit.execute

    def recording(sql, params):
        statements.append(sql)
        return real_execute(sql, params)

    monkeypatch.setattr(autocommit, "execute", recording)
    return statements
