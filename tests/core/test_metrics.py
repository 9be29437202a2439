import pytest

pytestmark = pytest.mark.django_db


def test_metrics_count_requests_by_route(client):
    client.get("/api/health")
    client.get("/api/health/")
    body = client.get("/metrics").content.decode()
    line = next(
        ln
        for ln in body.splitlines()
        if ln.startswith('sk_http_requests_total{method="GET",route="api/health",status="200"}')
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "sk_http_request_seconds_bucket" in body
    assert "sk_celery_queue_depth" in body


def test_metrics_need_the_token_when_configured(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_refuse_remote_callers_without_a_token(client):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403
