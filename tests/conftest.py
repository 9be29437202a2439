from __future__ import annotations

import os

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached reads must not leak from one test into the next (nor the
    per-process reference data: every test's rows roll back)."""
    from django.core.cache import caches

    from apps.core import refcache

    for alias in ("default", "local"):
        caches[alias].clear()
    refcache.clear_local()
    yield
    refcache.clear_local()


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
