"""Platform promises: a valid OpenAPI 3 schema with the envelope, browsable docs, idempotent seeding,
production settings that refuse to start without their secrets, structured logs with request ids."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.core import seeding

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_schema_is_valid_openapi_3_and_documents_the_envelope(api_client):
    from openapi_spec_validator import validate

    r = api_client.get("/api/schema/?format=json")
    assert r.status_code == 200
    schema = json.loads(r.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "Error" in schema["components"]["schemas"]
    health = schema["paths"]["/api/health"]["get"]["responses"]
    assert health["200"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert health["500"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert not any(p.startswith("/api/v1/") for p in schema["paths"])


@pytest.mark.django_db
def test_docs_page_renders_with_local_assets(api_client):
    r = api_client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html  # served by the sidecar: works offline


@pytest.mark.django_db
def test_seed_is_idempotent(monkeypatch):
    from apps.accounts.models import User

    calls = []

    def loader():
        User.objects.get_or_create(username="seeded_admin", defaults={"email": "seed@example.com"})
        calls.append(1)
        return 1

    monkeypatch.setattr(seeding, "_loaders", [(1, "test.loader", loader)])
    call_command("seed")
    call_command("seed")
    assert len(calls) == 2
    assert User.objects.filter(username="seeded_admin").count() == 1


@pytest.mark.django_db
def test_seed_demo_makes_users_and_is_repeatable():
    from apps.accounts.models import User

    members = User.objects.filter(username__regex=r"^demo_[a-z]+_[a-z]+_[0-9]+$")
    call_command("seed", "--demo", "--size", "7", "--no-progress")
    first = User.objects.count()
    call_command("seed", "--demo", "--size", "7", "--no-progress")
    assert members.count() == 7
    assert User.objects.count() == first  # the second run adds nothing
    assert all(u.profile.display_name for u in members)


def _production_check(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
    env.update({"DJANGO_SETTINGS_MODULE": "successkid.settings.production", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_production_refuses_to_run_as_the_database_owner():
    result = _production_check(
        {
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://x@127.0.0.1/x"),
            "SECRET_KEY": "x" * 20 + "-a-long-and-random-enough-secret-key-for-the-check",
            "ALLOWED_HOSTS": "api.example.com",
            "DATABASE_APP_USER": "",
        }
    )
    assert result.returncode != 0
    assert "DATABASE_APP_USER must be set in production" in result.stderr


@pytest.mark.slow
def test_production_refuses_to_start_without_secrets():
    result = _production_check({"DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://x@127.0.0.1/x")})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


@pytest.mark.slow
def test_production_settings_pass_the_deploy_check():
    result = _production_check(
        {
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://x@127.0.0.1/x"),
            "SECRET_KEY": "x" * 20 + "-a-long-and-random-enough-secret-key-for-the-check",
            "ALLOWED_HOSTS": "api.example.com",
            "DATABASE_APP_USER": "successkid_app",
        }
    )
    deploy = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "successkid.settings.production",
            "SECRET_KEY": "x" * 20 + "-a-long-and-random-enough-secret-key-for-the-check",
            "ALLOWED_HOSTS": "api.example.com",
            "DATABASE_APP_USER": "successkid_app",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr


def test_json_log_lines_carry_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    from apps.core.logging import RequestIDFilter
    from apps.core.request_context import reset_request_id, set_request_id

    record = logging.LogRecord("successkid", logging.WARNING, __file__, 1, "vote failed for %s", ("post 7",), None)
    token = set_request_id("req-12345678")
    try:
        RequestIDFilter().filter(record)
    finally:
        reset_request_id(token)
    line = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s").format(record)
    parsed = json.loads(line)
    assert parsed["request_id"] == "req-12345678"
    assert parsed["message"] == "vote failed for post 7"


@pytest.mark.django_db
def test_server_errors_are_logged_with_the_request_id(api_client, caplog, settings):
    from django.urls import path
    from rest_framework.views import APIView

    class Boom(APIView):
        def get(self, request):
            raise RuntimeError("kaboom")

    import successkid.urls as project_urls

    module = type(sys)("tmp_urls")
    module.urlpatterns = [path("api/boom", Boom.as_view()), *project_urls.urlpatterns]
    sys.modules["tmp_urls"] = module
    settings.ROOT_URLCONF = "tmp_urls"
    api_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="successkid.errors"):
        r = api_client.get("/api/boom", HTTP_X_REQUEST_ID="trace-abcdef12")
    assert r.status_code == 500
    errors = [rec for rec in caplog.records if rec.name == "successkid.errors"]
    assert errors, "the 500 was not logged"
    assert errors[0].request_id == "trace-abcdef12"
    assert errors[0].exc_info and "kaboom" in str(errors[0].exc_info[1])
    assert "kaboom" not in r.content.decode()
