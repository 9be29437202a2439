"""Safe by default: `make run` (dev settings, no SECRET_KEY) signs with random keys kept in var/,
never a key from the repository; DEBUG pages only when asked for; every access token names a
session, so logout ends it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework_simplejwt.tokens import AccessToken

ROOT = Path(__file__).resolve().parents[2]
REPO_KEY = "dev-insecure-secret-key-change-me-0123456789abcdef"  # what the repository used to ship


def _dev_settings(**env) -> dict:
    """The dev settings (`make run`) as a fresh process sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'secret': s.SECRET_KEY, 'jwt': s.JWT_SIGNING_KEY, 'debug': s.DEBUG}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JWT_SIGNING_KEY", "DEBUG")}
    clean.update(DJANGO_SETTINGS_MODULE="successkid.settings.dev", **env)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_make_run_keys_are_random_kept_in_var_and_debug_is_off():
    first, again = _dev_settings(), _dev_settings()
    assert REPO_KEY not in first["secret"] and REPO_KEY not in first["jwt"]
    assert len(first["secret"]) >= 50 and len(first["jwt"]) >= 50 and first["secret"] != first["jwt"]
    assert (ROOT / "var" / "secret_key").read_text().strip() == first["secret"]
    assert again == first  # kept: sessions and tokens survive a restart
    assert first["debug"] is False
    assert _dev_settings(DEBUG="1")["debug"] is True


@pytest.mark.django_db
def test_a_token_signed_with_the_repository_key_is_refused(api_client, user):
    """The same claims as a real token (a live session), re-signed with the repository's key."""
    import jwt

    from apps.accounts.tokens import issue_token_pair

    real = issue_token_pair(user)["access"]
    claims = jwt.decode(real, options={"verify_signature": False})
    forged = jwt.encode(claims, REPO_KEY + "-jwt", algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {real}")
    assert api_client.get("/api/users/me").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api_client.get("/api/users/me").status_code == 401


@pytest.mark.django_db
def test_an_access_token_without_a_session_is_refused(api_client, user):
    token = AccessToken.for_user(user)  # signed with the real key, but names no session
    token["ver"] = user.token_version
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = api_client.get("/api/users/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_invalid"
