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


def test_metrics_refuse_visitors_relayed_by_a_local_reverse_proxy(client, settings):
    """A reverse proxy on the same machine makes every visitor's peer address loopback: without a
    token, only a direct scrape (no forwarding header) is trusted, whatever TRUSTED_PROXIES says."""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200  # a direct local scrape
    relayed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    assert client.get("/metrics", **relayed).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1", HTTP_FORWARDED="for=203.0.113.7").status_code == 403
    settings.TRUSTED_PROXIES = 1  # the proxy is trusted: the visitor is its X-Forwarded-For entry
    assert client.get("/metrics", **relayed).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
