"""The documentation stands on its own and reads well: the description explains the envelope,
errors, pagination, auth modes and the WebSocket; nothing points at files outside the API; public
operations show no lock; groups come in reading order with descriptions; the admin is branded; the
routine RLS audit lines stay off the console."""

import json
import logging

import pytest
from django.conf import settings

from apps.core import rls

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client) -> dict:
    return json.loads(api_client.get("/api/schema/?format=json").content)


def test_the_description_is_self_contained(schema):
    text = json.dumps(schema)
    assert "API.md" not in text and "../shared" not in text
    description = schema["info"]["description"]
    for needed in [
        '{"data": ..., "meta": ...}',  # envelope
        "refresh_missing",  # errors
        "next_cursor",  # pagination
        "X-Auth-Mode: cookie",  # auth modes
        "X-CSRFToken",
        '{"type": "subscribe", "topic": "post:42"',  # the WebSocket protocol
        "4401",
    ]:
        assert needed in description, needed


@pytest.mark.parametrize("path", ["/api/levels", "/api/leaderboard", "/api/achievements", "/api/health"])
def test_public_operations_have_no_lock(schema, path, api_client):
    assert not schema["paths"][path]["get"].get("security")  # no requirement: no lock in Swagger UI
    assert api_client.get(path).status_code == 200  # and anyone may indeed call them


def test_signed_in_operations_keep_their_lock(schema):
    assert schema["paths"]["/api/auth/sessions"]["get"]["security"] == [{"jwtAuth": []}]


def test_tags_come_in_reading_order_with_descriptions(schema):
    names = [t["name"] for t in schema["tags"]]
    assert names[:3] == ["auth", "users", "forum"]
    assert all(t.get("description") for t in schema["tags"])
    used = {tag for ops in schema["paths"].values() for op in ops.values() for tag in op.get("tags", [])}
    assert used <= set(names)


def test_admin_is_branded(client):
    html = client.get("/admin/login/").content.decode()
    assert "Success Kid moderation" in html and "Django administration" not in html


def test_routine_system_contexts_log_to_their_own_quiet_logger(caplog):
    assert settings.LOGGING["loggers"]["successkid.rls.audit"]["level"] == "WARNING"
    with caplog.at_level(logging.INFO), rls.system_context("test:quiet"):
        pass
    [record] = [r for r in caplog.records if "test:quiet" in r.getMessage()]
    assert record.name == "successkid.rls.audit"
