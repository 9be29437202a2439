"""CORS for a browser SPA on another origin: every request header the API reads passes the
preflight, every response header a client must read is exposed, and responses made before any
view runs (413, a bad Content-Length) carry the CORS headers too, so the page sees the envelope."""

import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("spa")]

SPA = "http://localhost:5173"


@pytest.fixture
def spa():
    with override_settings(CORS_ALLOWED_ORIGINS=[SPA]):
        yield


def preflight(client, method: str, path: str, headers: str):
    return client.options(
        path,
        HTTP_ORIGIN=SPA,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_preflight_allows_every_request_header_the_api_reads(client):
    wanted = ["idempotency-key", "if-none-match", "x-auth-mode", "x-csrftoken", "authorization", "content-type"]
    r = preflight(client, "POST", "/api/posts", ",".join(wanted))
    assert r.status_code == 200
    assert r["Access-Control-Allow-Origin"] == SPA and r["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip().lower() for h in r["Access-Control-Allow-Headers"].split(",")}
    assert set(wanted) <= allowed


def test_every_header_a_client_reads_is_exposed(client):
    r = client.get("/api/health", HTTP_ORIGIN=SPA)
    exposed = {h.strip().lower() for h in r["Access-Control-Expose-Headers"].split(",")}
    expected = {"etag", "idempotent-replayed", "retry-after", "x-request-id", "x-csrftoken", "location"}
    assert expected <= exposed


def test_a_413_from_the_size_check_carries_cors_headers(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    r = client.post("/api/posts", "x" * 500, content_type="application/json", HTTP_ORIGIN=SPA)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r["Access-Control-Allow-Origin"] == SPA
    assert "x-request-id" in r["Access-Control-Expose-Headers"].lower()


def test_a_bad_content_length_answer_carries_cors_headers():
    r = Client().post("/api/posts", "{}", content_type="application/json", HTTP_ORIGIN=SPA, CONTENT_LENGTH="nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert r["Access-Control-Allow-Origin"] == SPA


def test_other_origins_get_no_cors_headers(client):
    r = client.post("/api/posts", "x" * 5, content_type="application/json", HTTP_ORIGIN="http://localhost:5174")
    assert "Access-Control-Allow-Origin" not in r
