import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_liveness(api_client):
    r = api_client.get("/api/health")
    assert r.status_code == 200 and r.json() == {"data": {"status": "ok"}}


def test_readiness_ok(api_client):
    r = api_client.get("/api/health/ready")
    assert r.status_code == 200
    assert r.json()["data"]["checks"]["database"] == "ok"


def test_readiness_503_when_database_is_down(api_client, monkeypatch):
    from django.db import connections

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    r = api_client.get("/api/health/ready")
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "service_unavailable"
    assert err["details"]["checks"]["database"] == "unavailable"
    assert "database" in err["message"]


def test_readiness_checks_cache_and_broker_when_redis_is_configured(api_client, settings, monkeypatch):
    # Redis down is a degraded mode, not an outage: the node stays in rotation (200, "degraded").
    from apps.core import health

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(health, "check_cache", lambda: "unavailable")
    monkeypatch.setattr(health, "check_broker", lambda: "ok")
    r = api_client.get("/api/health/ready")
    assert r.status_code == 200
    assert r.json()["data"] == {
        "status": "degraded",
        "checks": {"database": "ok", "outbox": "ok", "cache": "unavailable", "broker": "ok"},
    }


def test_readiness_can_require_redis(api_client, settings, monkeypatch):
    from apps.core import health

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.HEALTH_REQUIRED_CHECKS = ["database", "cache", "broker"]
    monkeypatch.setattr(health, "check_cache", lambda: "unavailable")
    monkeypatch.setattr(health, "check_broker", lambda: "ok")
    r = api_client.get("/api/health/ready")
    assert r.status_code == 503
    assert r.json()["error"]["details"]["checks"]["cache"] == "unavailable"


def test_broker_check_reports_an_unreachable_broker():
    from apps.core import health
    from successkid.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        assert health.check_broker() == "unavailable"
    finally:
        app.conf.broker_url = old
