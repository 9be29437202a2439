"""Documented capabilities that are wired, through the public surface: 405 before authentication,
Profile.last_seen_at, the WebSocket and source gauges in /metrics, the analytics sink."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from apps.accounts.models import Profile
from successkid.routing import websocket_application
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory

TRACKED: list[dict] = []


def collect(event: dict) -> None:
    TRACKED.append(event)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), [("delete", "/api/categories"), ("put", "/api/leaderboard")])
def test_an_unsupported_method_is_405_before_authentication(api_client, method, path):
    r = getattr(api_client, method)(path)
    assert r.status_code == 405, r.content
    assert r.json()["error"]["code"] == "method_not_allowed" and "GET" in r["Allow"]
    assert api_client.get("/api/no-such-path").status_code == 404  # the catch-all still answers 404


@pytest.mark.django_db(transaction=True)  # written on the limiter's own connection: rows must be committed
def test_last_seen_is_written_at_most_once_a_minute(make_client):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory()
    client = make_client(user)
    assert client.get("/api/users/me").status_code == 200
    first = Profile.objects.get(user=user).last_seen_at
    assert first is not None and timezone.now() - first < timedelta(seconds=30)
    assert client.get("/api/users/me").status_code == 200
    assert Profile.objects.get(user=user).last_seen_at == first  # no write per request


@pytest.mark.django_db(transaction=True)
def test_last_seen_asks_the_limiter_once_a_minute_not_on_every_signed_in_request(make_client, monkeypatch):
    from apps.core import limits

    asked = []
    incr = limits._incr

    def counting_incr(key, amount, ttl):
        if key.startswith("lim:last_seen:"):
            asked.append(key)
        return incr(key, amount, ttl)

    monkeypatch.setattr(limits, "_incr", counting_incr)

    class MidMinute:  # the process remembers per clock minute: no minute may turn mid-test
        @staticmethod
        def time():
            return 1_800_000_030.0

    monkeypatch.setattr(limits, "time", MidMinute)
    user = UserFactory()
    client = make_client(user)
    for _ in range(4):
        assert client.get("/api/users/me").status_code == 200
    assert Profile.objects.get(user=user).last_seen_at is not None
    assert len(asked) == 1


@pytest.mark.django_db(transaction=True)
def test_active_users_get_the_active_wallet_refresh_interval(make_client, settings):
    from django.utils import timezone

    from apps.wallet.models import WalletConnection
    from apps.wallet.services import schedule_next_refresh

    settings.WALLET_REFRESH_INTERVAL_SECONDS, settings.WALLET_REFRESH_ACTIVE_SECONDS = 86_400, 600
    user = UserFactory()
    wallet = WalletConnection.objects.create(
        user=user, address="So11111111111111111111111111111111111111112", verified=True
    )
    assert make_client(user).get("/api/users/me").status_code == 200  # the user was here
    schedule_next_refresh(user_id=user.pk)
    wallet.refresh_from_db()
    assert (wallet.next_refresh_at - timezone.now()).total_seconds() < 600 * 1.2


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
async def test_websocket_gauges_follow_connections_and_frames():
    open_before = _sample("sk_websocket_connections")
    in_before = _sample("sk_websocket_messages_total", direction="in")
    out_before = _sample("sk_websocket_messages_total", direction="out")
    comm = WebsocketCommunicator(websocket_application, "/ws/")
    assert (await comm.connect())[0]
    assert _sample("sk_websocket_connections") == open_before + 1
    await comm.send_json_to({"type": "ping", "ref": "1"})
    assert await comm.receive_json_from() == {"type": "pong", "ref": "1"}
    assert _sample("sk_websocket_messages_total", direction="in") == in_before + 1
    assert _sample("sk_websocket_messages_total", direction="out") >= out_before + 1
    await comm.disconnect()
    assert _sample("sk_websocket_connections") == open_before


@pytest.mark.django_db
def test_source_up_follows_the_sources_health():
    from django.utils import timezone

    from apps.market import health

    health.record_failure(source="probe-source", now=timezone.now(), error="down")
    assert _sample("sk_source_up", source="probe-source") == 0
    health.record_success(source="probe-source", now=timezone.now(), latency_ms=5)
    assert _sample("sk_source_up", source="probe-source") == 1


@pytest.mark.django_db
def test_the_analytics_sink_receives_product_events(make_client, settings, django_capture_on_commit_callbacks):
    settings.ANALYTICS_SINKS = ["tests.core.test_wired.collect"]
    TRACKED.clear()
    user = UserFactory()
    category = CategoryFactory()
    with django_capture_on_commit_callbacks(execute=True):
        r = make_client(user).post(
            "/api/posts", {"category": category.slug, "title": "Tracked post", "body": "hello"}, format="json"
        )
    assert r.status_code == 201, r.json()
    (event,) = [e for e in TRACKED if e["name"] == "post.created"]
    assert event["user_id"] == user.pk and event["properties"]["post_id"] == r.json()["data"]["id"]
