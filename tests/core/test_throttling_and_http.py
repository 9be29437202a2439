import pytest
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_anonymous_reads_are_limited_per_ip_with_retry_after(api_client, settings):
    _rates(settings, anon_read="3/min")
    codes = [api_client.get("/api/health", REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api_client.get("/api/health", REMOTE_ADDR="10.0.0.1")
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= 60
    # another address has its own budget
    assert api_client.get("/api/health", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_spoofed_forwarded_for_does_not_escape_without_trusted_proxies(api_client, settings):
    _rates(settings, anon_read="2/min")
    for i in range(2):
        assert (
            api_client.get("/api/health", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}").status_code == 200
        )
    assert api_client.get("/api/health", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="9.9.9.9").status_code == 429


def test_behind_one_trusted_proxy_the_last_hop_is_the_client(api_client, settings):
    _rates(settings, anon_read="1/min")
    settings.TRUSTED_PROXIES = 1
    proxy = "10.0.0.254"
    assert api_client.get("/api/health", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 1.1.1.1").status_code == 200
    # the client cannot reset its budget by prepending fake hops
    assert api_client.get("/api/health", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="7.7.7.7, 1.1.1.1").status_code == 429
    assert api_client.get("/api/health", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 200


def test_users_are_limited_per_user_and_new_accounts_write_less(make_client, settings):
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    _rates(settings, user_write="3/min", new_user_write="1/min")

    class Write(APIView):
        def post(self, request):
            return Response({}, status=201)

    import sys

    import successkid.urls as project_urls

    module = type(sys)("throttle_urls")
    module.urlpatterns = [path("api/write", Write.as_view()), *project_urls.urlpatterns]
    sys.modules["throttle_urls"] = module
    settings.ROOT_URLCONF = "throttle_urls"

    veteran = make_client(UserFactory(date_joined=timezone.now() - timezone.timedelta(days=30)))
    newbie = make_client(UserFactory())
    assert [veteran.post("/api/write").status_code for _ in range(4)] == [201, 201, 201, 429]
    assert [newbie.post("/api/write").status_code for _ in range(2)] == [201, 429]


def test_conditional_get_answers_304(api_client):
    first = api_client.get("/api/health")
    etag = first["ETag"]
    assert etag
    second = api_client.get("/api/health", HTTP_IF_NONE_MATCH=etag)
    assert second.status_code == 304
    assert second.content == b""


def test_authenticated_answers_are_not_cached(auth_client):
    r = auth_client.get("/api/health")
    assert r["Cache-Control"] == "no-store"
    assert not r.has_header("ETag")


def test_large_json_is_compressed(api_client):
    r = api_client.get("/api/schema/?format=json", HTTP_ACCEPT_ENCODING="gzip")
    assert r["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("level, extra_flags", [(1, 4), (9, 2)])  # gzip's XFL byte: 4 fastest, 2 best
def test_answers_are_compressed_at_the_configured_level(api_client, settings, level, extra_flags):
    import gzip
    import json

    settings.GZIP_LEVEL = level
    r = api_client.get("/api/schema/?format=json", HTTP_ACCEPT_ENCODING="gzip")
    assert r["Content-Encoding"] == "gzip" and "Accept-Encoding" in r["Vary"]
    assert r.content[8] == extra_flags
    assert json.loads(gzip.decompress(r.content))["openapi"].startswith("3.")
    assert int(r["Content-Length"]) == len(r.content)


def test_an_unreachable_counter_store_lets_requests_through(api_client, settings, monkeypatch):
    _rates(settings, anon_read="1/min")
    from apps.core import limits

    def down(*args, **kwargs):
        raise ConnectionError("redis and the database are gone")

    monkeypatch.setattr(limits, "_incr", down)
    monkeypatch.setattr(limits, "_incr_unless_failing", down)  # the throttle's one-round-trip count
    assert [api_client.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]


def test_retry_after_counts_down_from_the_first_attempt_of_the_window(api_client, settings):
    from apps.core import autocommit

    _rates(settings, anon_read="1/min")
    settings.LIMITS_REDIS_URL = ""  # PostgreSQL's counter, whose expiry the test can move
    assert api_client.get("/api/health").status_code == 200
    first = api_client.get("/api/health")
    assert first.status_code == 429 and int(first["Retry-After"]) in (59, 60)
    autocommit.execute("UPDATE limit_counters SET expires_at = expires_at - interval '15 seconds'", [])
    later = api_client.get("/api/health")  # 15 s on
    assert later.status_code == 429 and int(later["Retry-After"]) in (44, 45)
    autocommit.execute("UPDATE limit_counters SET expires_at = now() - interval '1 second'", [])
    assert api_client.get("/api/health").status_code == 200  # the window is over: a new one opens


@pytest.mark.parametrize("redis", [False, True])
def test_an_api_read_costs_the_limiter_one_round_trip(
    api_client, settings, monkeypatch, redis, request, autocommit_statements
):
    """The caller's penalty state and its budget are read and counted in one statement (one
    script on Redis), not a read and then a write."""
    settings.LIMITS_REDIS_URL = request.getfixturevalue("redis_url") if redis else ""
    statements = autocommit_statements
    commands: list[str] = []
    if redis:
        from redis import Redis

        real_command = Redis.execute_command

        def counting_command(self, *args, **kwargs):
            commands.append(args[0])
            return real_command(self, *args, **kwargs)

        monkeypatch.setattr(Redis, "execute_command", counting_command)
    assert api_client.get("/api/health").status_code == 200
    if redis:
        assert len(commands) == 1 and statements == [], commands
    else:
        assert len(statements) == 1


@pytest.mark.parametrize("redis", [False, True])
def test_a_busy_caller_is_counted_a_lease_at_a_time_and_its_limit_still_holds_exactly(
    api_client, settings, monkeypatch, redis, request
):
    """Most of a busy caller's requests make no round trip to the limiter's store: its attempts
    are counted several at a time (1, 2, 4 … up to a fiftieth of the budget) and served from
    that lease. Nothing is served that the store has not counted, so the 301st read of a
    300/min budget is refused, as before."""
    from apps.core import limits

    settings.LIMITS_REDIS_URL = request.getfixturevalue("redis_url") if redis else ""
    _rates(settings, anon_read="300/min")
    trips: list[int] = []
    real = limits._incr_unless_failing

    def counting(*args):
        trips.append(args[-1])  # the number of attempts counted in that trip
        return real(*args)

    monkeypatch.setattr(limits, "_incr_unless_failing", counting)
    codes = [api_client.get("/api/health", REMOTE_ADDR="10.7.0.1").status_code for _ in range(301)]
    assert codes == [200] * 300 + [429]
    assert len(trips) < 301 / 4, trips  # leases of 1, 2, 4, then 6 (300 // 50): 53 trips, not 301
    assert sum(trips[:-1]) >= 300  # every read served was counted in the store before it was served
    assert api_client.get("/api/health", REMOTE_ADDR="10.7.0.2").status_code == 200  # others unaffected


def test_a_lease_left_unused_in_another_process_refuses_its_caller_at_most_a_fiftieth_early(
    api_client, settings, monkeypatch
):
    from apps.core import limits

    _rates(settings, anon_read="500/min")
    served = sum(api_client.get("/api/health", REMOTE_ADDR="10.7.0.3").status_code == 200 for _ in range(40))
    monkeypatch.setattr(limits, "_leases", limits._Leases())  # the caller's next requests reach another process
    while api_client.get("/api/health", REMOTE_ADDR="10.7.0.3").status_code == 200:
        served += 1
    assert 500 - 500 // 50 <= served <= 500


def test_a_failure_ends_the_callers_lease_so_the_penalty_applies_at_once(api_client, settings):
    """A caller on a lease that starts failing is switched to the penalty budget by its next
    request, not after its lease runs out."""
    _rates(settings, anon_read="500/min")
    settings.THROTTLE_FAILURE_LIMIT = 3
    settings.THROTTLE_PENALTY_RATE = "1/min"
    assert all(api_client.get("/api/health", REMOTE_ADDR="10.7.0.4").status_code == 200 for _ in range(30))
    for _ in range(4):
        assert api_client.get("/api/no-such-endpoint/", REMOTE_ADDR="10.7.0.4").status_code == 404
    codes = [api_client.get("/api/health", REMOTE_ADDR="10.7.0.4").status_code for _ in range(2)]
    assert codes == [200, 429]  # the penalty's one read a minute, not the rest of the lease
