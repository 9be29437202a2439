"""The one limiter (apps.core.limits): counts outside the request's transaction, on PostgreSQL
(the default set-up, no Redis) and on Redis, increment-then-check, one per-account lockout shared
by every password check (API sign-in, re-checks, the admin's login form)."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import Client, RequestFactory

from apps.core.client_address import client_address
from tests.accounts.helpers import STRONG, bearer, last_mail_code, login, register
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
rf = RequestFactory()
WRONG = "not-the-password-1"
NO_REDIS_CACHE = {"BACKEND": "apps.core.autocommit.AutocommitDatabaseCache", "LOCATION": "core_cache"}


@pytest.fixture(params=["postgres", "redis"])
def store(request, settings):
    """`postgres`: the default `make run` set-up (no Redis: the database cache, counters in
    PostgreSQL); `redis`: counters in Redis."""
    if request.param == "postgres":
        settings.LIMITS_REDIS_URL = ""
        settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
        yield "postgres"
        from django.core.cache import caches

        caches["default"].clear()
        return
    settings.LIMITS_REDIS_URL = request.getfixturevalue("redis_url")
    yield "redis"


def _lock(settings, name: str, count: int, seconds: int = 900) -> None:
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, name: (count, seconds)}


def test_forty_wrong_passwords_then_the_right_one_is_still_locked(api_client, settings, store):
    UserFactory(username="target")
    codes = [login(api_client, "target", WRONG).status_code for _ in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = login(api_client, "target")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 0 < int(r["Retry-After"]) <= 900


def test_a_right_password_clears_the_account_count(api_client, settings, store):
    _lock(settings, "login_account", 3)
    UserFactory(username="forgetful")
    for _ in range(2):
        assert login(api_client, "forgetful", WRONG).status_code == 401
    assert login(api_client, "forgetful").status_code == 200
    for _ in range(3):
        assert login(api_client, "forgetful", WRONG).status_code == 401
    assert login(api_client, "forgetful").status_code == 429
    UserFactory(username="bystander")  # per account: another account from the same IP signs in
    assert login(api_client, "bystander").status_code == 200


def test_thirty_wrong_email_codes_lock_the_code(api_client, settings, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        access = register(api_client).json()["data"]["access"]
    client = bearer(access)
    real = last_mail_code()
    bad = "111111" if real != "111111" else "222222"
    codes = [client.post("/api/auth/verify-email", {"code": bad}, format="json").status_code for _ in range(30)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    r = client.post("/api/auth/verify-email", {"code": real}, format="json")
    assert r.status_code == 429
    assert client.get("/api/users/me").json()["data"]["email_verified"] is False


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/auth/password/change", {"current_password": WRONG, "new_password": STRONG}),
        ("post", "/api/auth/email/change", {"new_email": "new@example.com", "password": WRONG}),
        ("delete", "/api/users/me", {"password": WRONG}),
    ],
)
def test_password_rechecks_share_the_login_lockout(api_client, make_client, settings, store, method, url, body):
    user = UserFactory(username="rechecker")
    client = make_client(user)
    codes = [getattr(client, method)(url, body, format="json").status_code for _ in range(8)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    # The same account's sign-in is locked too: one count for every password check.
    assert login(api_client, "rechecker").status_code == 429


def test_admin_login_shares_the_lockout(settings, store):
    UserFactory(username="staffer", is_staff=True, is_superuser=True)
    browser = Client()
    for _ in range(6):
        r = browser.post("/admin/login/", {"username": "staffer", "password": WRONG, "next": "/admin/"})
        assert r.status_code == 200
    assert b"Too many failed sign-in attempts" in r.content
    r = browser.post("/admin/login/", {"username": "staffer", "password": DEFAULT_PASSWORD, "next": "/admin/"})
    assert r.status_code == 200 and b"Too many failed sign-in attempts" in r.content  # not signed in
    assert login(APIClientFactory(), "staffer").status_code == 429


def APIClientFactory():
    from rest_framework.test import APIClient

    return APIClient()


def test_admin_login_still_works(settings, store):
    UserFactory(username="staffer2", is_staff=True, is_superuser=True)
    r = Client().post("/admin/login/", {"username": "staffer2", "password": DEFAULT_PASSWORD, "next": "/admin/"})
    assert r.status_code == 302 and r["Location"] == "/admin/"


def test_registrations_per_ip(api_client, settings, store):
    _lock(settings, "register_ip", 2, 3600)
    assert register(api_client, "reg1", "r1@example.com", STRONG).status_code == 201
    assert register(api_client, "reg0", "bad", STRONG).status_code == 400  # a failed one is given back
    assert register(api_client, "reg2", "r2@example.com", STRONG).status_code == 201
    r = register(api_client, "reg3", "r3@example.com", STRONG)
    assert r.status_code == 429 and "Retry-After" in r


def test_failed_logins_per_ip_with_spoofed_forwarded_for(api_client, settings, store):
    settings.TRUSTED_PROXIES = 1
    _lock(settings, "login_ip", 3, 300)
    for i in range(3):
        UserFactory(username=f"victim{i}")
        # Each request claims a new client address to the left; our proxy appends the real one.
        r = login(api_client, f"victim{i}", WRONG, HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 5.5.5.5")
        assert r.status_code == 401
    r = login(api_client, "victim0", WRONG, HTTP_X_FORWARDED_FOR="8.8.8.8, 5.5.5.5")
    assert r.status_code == 429
    assert login(api_client, "victim0", WRONG, HTTP_X_FORWARDED_FOR="5.5.5.6").status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", ["postgres", "redis"], indirect=True)
def test_concurrent_attempts_cannot_exceed_the_limit(settings, store):
    """Sixteen wrong passwords at once, each on its own connection: exactly the limit get through
    to a password check (401), every other one is refused (429)."""
    from django.db import connections
    from rest_framework.test import APIClient

    _lock(settings, "login_account", 5)
    UserFactory(username="raced")
    results: list[int] = []
    barrier = threading.Barrier(16)

    def attempt() -> None:
        try:
            barrier.wait()
            results.append(login(APIClient(), "raced", WRONG).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [401] * 5 + [429] * 11


def test_database_cache_writes_survive_a_rolled_back_request(settings):
    """The database cache (no Redis) writes on its own connection: a failed request's transaction
    rolling back does not take its cache writes (a circuit breaker's state) with it."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
    cache = caches["default"]
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            cache.set("breaker:rpc", "open", 60)
            raise RuntimeError("the request failed")
        assert cache.get("breaker:rpc") == "open"
    finally:
        cache.clear()


@pytest.mark.parametrize(
    ("proxies", "remote", "xff", "expected"),
    [
        (0, "10.0.0.1", "1.2.3.4", "10.0.0.1"),  # no proxy: the header is ignored
        (1, "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (1, "10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # client-written part is ignored
        (2, "10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.1", "1.2.3.4"),
        (2, "10.0.0.2", "1.2.3.4", "10.0.0.2"),  # not through both proxies
        (1, "10.0.0.1", "not-an-ip", "10.0.0.1"),
    ],
)
def test_client_address(settings, proxies, remote, xff, expected):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=xff)
    assert client_address(request) == expected


def test_limits_count_on_after_their_database_connection_is_dropped(api_client, settings):
    """No liveness probe before each count: a connection dropped under the limiter is re-opened on
    use, and the count it was making is not lost."""
    from django.db import connection

    from apps.core import autocommit, limits

    settings.LIMITS_REDIS_URL = ""
    settings.CACHES = {**settings.CACHES, "default": NO_REDIS_CACHE}
    _lock(settings, "login_account", 3)
    UserFactory(username="dropped")
    assert login(api_client, "dropped", WRONG).status_code == 401
    own = autocommit.own_connection()
    own.ensure_connection()
    backend_pid = own.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    assert limits.count("login_account", "user:dropped") >= 0  # the dropped connection, re-opened
    assert autocommit.own_connection().connection.info.backend_pid != backend_pid
    assert login(api_client, "dropped", WRONG).status_code == 401
    assert login(api_client, "dropped", WRONG).status_code == 401
    assert login(api_client, "dropped").status_code == 429
