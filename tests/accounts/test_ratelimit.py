"""Abuse limits: failed logins per account and per IP, registrations per IP, and a spoofed
X-Forwarded-For does not escape the limit behind trusted proxies."""

import pytest
from django.test import RequestFactory

from apps.accounts.ratelimit import client_ip
from tests.accounts.helpers import STRONG, login, register
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
rf = RequestFactory()


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
def test_client_ip(settings, proxies, remote, xff, expected):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=xff)
    assert client_ip(request) == expected


def test_failed_logins_per_account(api_client, settings):
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "login_account": (3, 900)}
    UserFactory(username="target")
    for i in range(3):
        assert login(api_client, "target", "wrong", REMOTE_ADDR=f"10.1.0.{i}").status_code == 401
    r = login(api_client, "target", REMOTE_ADDR="10.1.0.99")  # right password, other IP: still locked
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 0 < int(r["Retry-After"]) <= 900
    # The limit is per account: another account from the same IP still logs in.
    UserFactory(username="bystander")
    assert login(api_client, "bystander", REMOTE_ADDR="10.1.0.99").status_code == 200


def test_failed_logins_per_ip_with_spoofed_forwarded_for(api_client, settings):
    settings.TRUSTED_PROXIES = 1
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "login_ip": (3, 300)}
    for i in range(3):
        UserFactory(username=f"victim{i}")
        # Each request claims a new client address to the left; our proxy appends the real one.
        r = login(api_client, f"victim{i}", "wrong", HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 5.5.5.5")
        assert r.status_code == 401
    r = login(api_client, "victim0", "wrong", HTTP_X_FORWARDED_FOR="8.8.8.8, 5.5.5.5")
    assert r.status_code == 429
    assert login(api_client, "victim0", "wrong", HTTP_X_FORWARDED_FOR="5.5.5.6").status_code == 401


def test_registrations_per_ip(api_client, settings):
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "register_ip": (2, 3600)}
    assert register(api_client, "reg1", "r1@example.com", STRONG).status_code == 201
    assert register(api_client, "reg2", "r2@example.com", STRONG).status_code == 201
    r = register(api_client, "reg3", "r3@example.com", STRONG)
    assert r.status_code == 429 and "Retry-After" in r


def test_limits_count_in_real_redis(redis_url, settings):
    from django.core.cache import caches

    from apps.accounts import ratelimit
    from apps.core.exceptions import RateLimited

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "sk-test-accounts",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        },
    }
    ident = "203.0.113.7"
    try:
        assert type(caches["default"]).__name__ == "RedisCache"
        settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "register_ip": (2, 60)}
        ratelimit.clear("register_ip", ident)
        ratelimit.hit("register_ip", ident)
        ratelimit.hit("register_ip", ident)
        with pytest.raises(RateLimited) as exc:
            ratelimit.hit("register_ip", ident)
        assert 0 < exc.value.retry_after <= 60
    finally:
        ratelimit.clear("register_ip", ident)
