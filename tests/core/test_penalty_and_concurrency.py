"""Stricter budgets for clients that keep failing, and concurrency limits on heavy endpoints
(apps.core.throttling, apps.core.concurrency)."""

import sys

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.exceptions import ValidationFailed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["memory", "redis"], autouse=True)
def throttle_cache(request, settings):
    """Every test here runs on the per-process memory cache (the portable path) and on a real
    Redis (one Lua script per step, apps.core.redis_scripts)."""
    if request.param == "memory":
        settings.LIMITS_REDIS_URL = ""  # the limiter counts in PostgreSQL
        yield settings.THROTTLE_CACHE
        return
    import uuid

    import redis
    from django.core.cache import caches

    url = request.getfixturevalue("redis_url")
    prefix = f"sk-test-throttle-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "throttle_redis": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        },
    }
    settings.THROTTLE_CACHE = "throttle_redis"
    settings.LIMITS_REDIS_URL = url
    assert type(caches["throttle_redis"]).__name__ == "RedisCache"
    yield "throttle_redis"
    client = redis.Redis.from_url(url)  # the test may have moved the cache to a dead port
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def take_cache_down(settings, monkeypatch, *methods):
    """The throttle cache stops answering: its Redis moves to a port nothing listens on (scripts
    included), or the memory cache's methods raise."""
    from django.core.cache import caches

    from apps.core import limits

    def store_down(*args, **kwargs):
        raise ConnectionError("the counter store is gone")

    monkeypatch.setattr(limits, "_incr", store_down)  # the limiter's Redis and PostgreSQL
    monkeypatch.setattr(limits, "_get", store_down)
    monkeypatch.setattr(limits, "_incr_unless_failing", store_down)
    if settings.THROTTLE_CACHE == "throttle_redis":
        dead = {**settings.CACHES["throttle_redis"], "LOCATION": "redis://127.0.0.1:1/0"}
        settings.CACHES = {**settings.CACHES, "throttle_redis": dead}
        return

    def down(*args, **kwargs):
        raise ConnectionError("redis is gone")

    for method in methods:
        monkeypatch.setattr(caches[settings.THROTTLE_CACHE], method, down)


@pytest.fixture
def penalty(settings):
    settings.THROTTLE_FAILURE_LIMIT = 3
    settings.THROTTLE_PENALTY_RATE = "2/min"


def _trusted_proxies(settings, n):
    settings.TRUSTED_PROXIES = n


@pytest.fixture
def one_trusted_proxy(settings):
    _trusted_proxies(settings, 1)
    yield
    _trusted_proxies(settings, 0)


def test_an_ip_that_keeps_failing_gets_the_penalty_budget(api_client, penalty):
    for _ in range(4):  # 4 failures > limit 3
        assert api_client.get("/api/no-such-thing", REMOTE_ADDR="10.1.0.1").status_code == 404
    codes = [api_client.get("/api/health", REMOTE_ADDR="10.1.0.1").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = api_client.get("/api/health", REMOTE_ADDR="10.1.0.1")
    assert r.json()["error"]["code"] == "rate_limited" and 1 <= int(r["Retry-After"]) <= 60
    # a well-behaved neighbour keeps the normal budget
    assert [api_client.get("/api/health", REMOTE_ADDR="10.1.0.2").status_code for _ in range(5)] == [200] * 5


def test_three_failures_are_not_enough(api_client, penalty):
    for _ in range(3):
        api_client.get("/api/no-such-thing", REMOTE_ADDR="10.1.0.3")
    assert [api_client.get("/api/health", REMOTE_ADDR="10.1.0.3").status_code for _ in range(5)] == [200] * 5


def test_a_user_collecting_403s_is_penalised_not_other_users(make_client, penalty):
    from tests.forum.factories import CategoryFactory, PostFactory

    post = PostFactory(category=CategoryFactory(slug="general"))
    bad, good = make_client(UserFactory()), make_client(UserFactory())
    for _ in range(4):  # pinning is for moderators
        assert bad.post(f"/api/posts/{post.id}/pin", {"value": True}, format="json").status_code == 403
    # (a signed-in read: /api/health does not authenticate, so it would count the IP)
    assert [bad.get("/api/posts").status_code for _ in range(3)] == [200, 200, 429]
    assert [good.get("/api/posts").status_code for _ in range(3)] == [200, 200, 200]


def test_behind_a_trusted_proxy_failures_count_per_client(api_client, penalty, one_trusted_proxy):
    proxy = "10.0.0.254"
    for _ in range(4):
        api_client.get("/api/no-such-thing", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.1.1.1")
    # the failing client cannot shed its penalty by prepending fake hops…
    hops = "9.9.9.9, 1.1.1.1"
    assert [
        api_client.get("/api/health", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=hops).status_code for _ in range(3)
    ] == [
        200,
        200,
        429,
    ]
    # …and another client behind the same proxy is not penalised
    assert [
        api_client.get("/api/health", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code for _ in range(4)
    ] == [200] * 4


def test_penalty_fails_open_when_the_cache_is_down(api_client, penalty, settings, monkeypatch):

    for _ in range(4):
        api_client.get("/api/no-such-thing")

    take_cache_down(settings, monkeypatch, "get", "add")
    assert [api_client.get("/api/health").status_code for _ in range(4)] == [200] * 4


# --- concurrency --------------------------------------------------------------------------------


class Heavy(ConcurrencyLimitMixin, APIView):
    """Runs `?then=<ip>,<ip>…`: a nested request from the next address while this one is in flight."""

    permission_classes: list = []
    concurrency_scope = "test"

    def get(self, request):
        chain = [a for a in request.query_params.get("then", "").split(",") if a]
        inner = None
        if chain:
            address, _, forwarded = chain[0].partition("/")  # "proxy/a|b" sends X-Forwarded-For: a, b
            extra = {"HTTP_X_FORWARDED_FOR": forwarded.replace("|", ", ")} if forwarded else {}
            r = APIClient().get(f"/api/heavy?then={','.join(chain[1:])}", REMOTE_ADDR=address, **extra)
            body = r.json()
            inner = [r.status_code, r.get("Retry-After"), body.get("data", body).get("inner")]
        if request.query_params.get("fail") == "400":
            raise ValidationFailed("bad")
        if request.query_params.get("fail") == "500":
            raise RuntimeError("boom")
        return Response({"inner": inner})


@pytest.fixture
def heavy(settings):
    module = type(sys)("heavy_urls")
    import successkid.urls as project_urls

    module.urlpatterns = [path("api/heavy", Heavy.as_view()), *project_urls.urlpatterns]
    sys.modules["heavy_urls"] = module
    settings.ROOT_URLCONF = "heavy_urls"
    settings.CONCURRENCY_LIMITS = {**settings.CONCURRENCY_LIMITS, "test": (1, 2)}
    settings.CONCURRENCY_RETRY_AFTER = 3


def _counters(settings):
    from django.core.cache import caches

    store = caches[settings.THROTTLE_CACHE]
    return store.get("conc:test:*"), store.get("conc:test:ip10.2.0.1")


def test_one_in_flight_per_caller(api_client, heavy, settings):
    r = api_client.get("/api/heavy?then=10.2.0.1", REMOTE_ADDR="10.2.0.1")
    assert r.status_code == 200
    status, retry_after, _ = r.json()["data"]["inner"]
    assert (status, retry_after) == (429, "3")
    assert _counters(settings) == (0, 0)  # every slot released


def test_at_most_two_in_flight_in_total(api_client, heavy):
    body = api_client.get("/api/heavy?then=10.2.0.2,10.2.0.3", REMOTE_ADDR="10.2.0.1").json()
    inner = body["data"]["inner"]
    assert inner[0] == 200  # the second caller fits (2 in total)…
    assert inner[2][0] == 429  # …the third does not


def test_the_slot_is_released_when_the_view_raises(api_client, heavy, settings):
    assert api_client.get("/api/heavy?fail=400", REMOTE_ADDR="10.2.0.1").status_code == 400
    assert _counters(settings) == (0, 0)
    client = APIClient(raise_request_exception=False)
    assert client.get("/api/heavy?fail=500", REMOTE_ADDR="10.2.0.1").status_code == 500
    assert _counters(settings) == (0, 0)
    assert api_client.get("/api/heavy", REMOTE_ADDR="10.2.0.1").status_code == 200


def test_callers_behind_a_trusted_proxy_are_told_apart(api_client, heavy, one_trusted_proxy):
    proxy = "10.0.0.254"
    same = api_client.get(
        f"/api/heavy?then={proxy}/6.6.6.6|1.1.1.1", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.1.1.1"
    ).json()
    assert same["data"]["inner"][0] == 429  # the same client, whatever hops it prepends
    other = api_client.get(f"/api/heavy?then={proxy}/2.2.2.2", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.1.1.1").json()
    assert other["data"]["inner"][0] == 200  # another client behind the same proxy


def test_concurrency_fails_open_when_the_cache_is_down(api_client, heavy, settings, monkeypatch):

    take_cache_down(settings, monkeypatch, "incr")
    body = api_client.get("/api/heavy?then=10.2.0.1", REMOTE_ADDR="10.2.0.1").json()
    assert body["data"]["inner"][0] == 200


@pytest.mark.parametrize(
    "method,url,scope",
    [
        ("get", "/api/search?q=kid", "search"),
        ("get", "/api/leaderboard", "leaderboard"),
        ("get", "/api/market/history", "history"),
        ("post", "/api/media", "upload"),
    ],
)
def test_heavy_endpoints_are_limited(make_client, settings, method, url, scope):
    settings.CONCURRENCY_LIMITS = {**settings.CONCURRENCY_LIMITS, scope: (0, 10)}  # nothing may run
    r = getattr(make_client(UserFactory()), method)(url)
    assert r.status_code == 429, r.json()
    assert r.json()["error"]["code"] == "rate_limited" and r["Retry-After"]
    assert r.json()["error"]["details"]["concurrency"] == scope


@pytest.mark.parametrize("throttle_cache", ["redis"], indirect=True)  # the scripts' TTLs
def test_redis_counters_expire_with_their_window(api_client, heavy, settings, throttle_cache):
    from django.core.cache import caches

    from apps.core import concurrency

    store = caches[throttle_cache]
    keys = concurrency.acquire("test", "ip10.9.9.9")
    assert [store.get(k) for k in keys] == [1, 1]
    assert all(0 < store.ttl(k) <= settings.CONCURRENCY_SLOT_SECONDS for k in keys)
    store.delete(keys[0])  # expired while the request ran
    concurrency.release(keys)
    assert store.get(keys[0]) is None  # not brought back as -1
    assert store.get(keys[1]) == 0
