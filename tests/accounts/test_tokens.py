"""JWT sessions: rotation, family reuse detection, logout, sessions list, cookie mode, token checks."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import AuthSession, User
from apps.accounts.tokens import issue_token_pair
from tests.accounts.helpers import bearer, login
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(api_client):
    user = UserFactory(username="tess")
    data = login(api_client, "tess", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0").json()["data"]
    return user, data


def refresh(token: str, client: APIClient | None = None):
    return (client or APIClient()).post("/api/auth/refresh", {"refresh": token}, format="json")


def me(access: str) -> int:
    return bearer(access).get("/api/users/me").status_code


def age_rotations(user, seconds: int = 3600) -> None:
    """Move the last rotation out of the refresh grace window."""
    AuthSession.objects.filter(user=user).update(rotated_at=timezone.now() - timedelta(seconds=seconds))


def test_refresh_rotates_and_old_token_replay_revokes_family(pair):
    user, first = pair
    r = refresh(first["refresh"])
    assert r.status_code == 200, r.content
    second = r.json()["data"]
    assert second["refresh"] != first["refresh"] and second["user"]["id"] == user.pk
    assert me(second["access"]) == 200
    age_rotations(user, settings.AUTH_REFRESH_GRACE_SECONDS + 1)
    # The stolen, already-used first token comes back after the grace window: 401 and the whole
    # family dies...
    replay = refresh(first["refresh"])
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_reused"
    # ...including the newest refresh token and the access tokens of that login.
    assert refresh(second["refresh"]).status_code == 401
    assert me(second["access"]) == 401
    assert AuthSession.objects.get(user=user).revoked_reason == "reuse"


def test_reuse_only_kills_its_own_family(pair, api_client):
    user, first = pair
    other = login(api_client, "tess").json()["data"]
    refresh(first["refresh"])
    age_rotations(user)
    assert refresh(first["refresh"]).status_code == 401  # replay -> family of `first` revoked
    assert me(other["access"]) == 200
    assert refresh(other["refresh"]).status_code == 200


def test_logout_revokes_presented_session_only(pair, api_client):
    user, first = pair
    other = login(api_client, "tess").json()["data"]
    r = APIClient().post("/api/auth/logout", {"refresh": first["refresh"]}, format="json")
    assert r.status_code == 200 and r.json()["data"]["revoked"] == 1
    assert me(first["access"]) == 401
    assert refresh(first["refresh"]).status_code == 401
    assert me(other["access"]) == 200


def test_logout_all_ends_every_session(pair, api_client):
    user, first = pair
    other = login(api_client, "tess").json()["data"]
    r = APIClient().post("/api/auth/logout", {"refresh": first["refresh"], "all": True}, format="json")
    assert r.status_code == 200 and r.json()["data"]["revoked"] == 2
    for tokens in (first, other):
        assert me(tokens["access"]) == 401
        assert refresh(tokens["refresh"]).status_code == 401


def test_sessions_list_and_revoke_one(pair, api_client):
    user, first = pair
    other = login(api_client, "tess", HTTP_USER_AGENT="okhttp/4.12").json()["data"]
    stranger = UserFactory()
    r = bearer(first["access"]).get("/api/auth/sessions")
    assert r.status_code == 200
    rows = r.json()["data"]
    assert len(rows) == 2
    current = [row for row in rows if row["current"]]
    assert len(current) == 1 and current[0]["device"] == "Firefox on Linux"
    assert {row["ip"] for row in rows} == {"127.0.0.1"}
    other_id = next(row["id"] for row in rows if not row["current"])
    # Another user cannot revoke it (404, not 403: ids are not leaked).
    assert bearer(issue_token_pair(stranger)["access"]).delete(f"/api/auth/sessions/{other_id}").status_code == 404
    assert bearer(first["access"]).delete(f"/api/auth/sessions/{other_id}").status_code == 204
    assert me(other["access"]) == 401
    assert bearer(first["access"]).delete("/api/auth/sessions/not-a-uuid").status_code == 404


def test_password_change_ends_other_sessions_but_not_this_one(pair, api_client):
    user, first = pair
    other = login(api_client, "tess").json()["data"]
    r = bearer(first["access"]).post(
        "/api/auth/password/change",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-secret-77"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["data"]["ended_sessions"] == 1
    assert me(first["access"]) == 200
    assert me(other["access"]) == 401 and refresh(other["refresh"]).status_code == 401
    assert login(api_client, "tess", "a-brand-new-secret-77").status_code == 200
    assert login(api_client, "tess").status_code == 401


def test_password_change_needs_current_password_and_strong_new(pair):
    _, first = pair
    c = bearer(first["access"])
    r = c.post(
        "/api/auth/password/change",
        {"current_password": "nope", "new_password": "a-brand-new-secret-77"},
        format="json",
    )
    assert r.status_code == 400 and "current_password" in r.json()["error"]["details"]
    r = c.post(
        "/api/auth/password/change", {"current_password": DEFAULT_PASSWORD, "new_password": "123"}, format="json"
    )
    assert r.status_code == 400 and "new_password" in r.json()["error"]["details"]


def _forge(payload: dict, alg: str, key: str = "") -> str:
    if alg == "none":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        return f"{header}.{body}."
    return jwt.encode(payload, key, algorithm=alg)


def test_none_wrong_alg_wrong_aud_wrong_key_tokens_are_401(pair):
    user, first = pair
    claims = jwt.decode(first["access"], options={"verify_signature": False})
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    cases = [
        _forge(claims, "none"),
        _forge(claims, "HS512", key),
        _forge({**claims, "aud": "someone-else"}, "HS256", key),
        _forge({**claims, "iss": "evil"}, "HS256", key),
        _forge(claims, "HS256", "not-our-key"),
        _forge({**claims, "token_type": "refresh"}, "HS256", key),
    ]
    for token in cases:
        r = bearer(token).get("/api/users/me")
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] == "token_invalid"
    expired = _forge({**claims, "exp": int((timezone.now() - timedelta(minutes=5)).timestamp())}, "HS256", key)
    r = bearer(expired).get("/api/users/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_access_token_is_not_a_refresh_token(pair):
    _, first = pair
    assert refresh(first["access"]).status_code == 401
    assert refresh("garbage").status_code == 401


def test_suspension_and_deactivation_stop_tokens_at_once(pair):
    user, first = pair
    from apps.accounts import services

    services.user_suspend(user=user, by=None, until=timezone.now() + timedelta(hours=1), reason="spam")
    assert me(first["access"]) == 401
    assert refresh(first["refresh"]).status_code == 401
    other = UserFactory(username="vic")
    tokens = issue_token_pair(other)
    other.is_active = False
    other.save()
    assert me(tokens["access"]) == 401
    assert refresh(tokens["refresh"]).status_code == 401


def test_cookie_mode_refresh_needs_csrf_double_submit(api_client):
    UserFactory(username="wendy")
    r = login(api_client, "wendy", HTTP_X_AUTH_MODE="cookie")
    assert r.status_code == 200
    body = r.json()["data"]
    assert "refresh" not in body
    cookie = r.cookies[settings.AUTH_REFRESH_COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["path"] == "/api/auth/"
    assert cookie["samesite"] == "Strict"
    # The SPA on another origin cannot read the API host's cookies: the value is in the body and
    # in the (CORS-exposed) header too.
    csrf = body["csrf_token"]
    assert csrf and r["X-CSRFToken"] == csrf == r.cookies[settings.AUTH_CSRF_COOKIE].value
    # api_client keeps the cookies; without the header the refresh is refused.
    no_header = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_AUTH_MODE="cookie")
    assert no_header.status_code == 403 and no_header.json()["error"]["code"] == "csrf_failed"
    wrong = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_AUTH_MODE="cookie", HTTP_X_CSRFTOKEN="x")
    assert wrong.status_code == 403
    ok = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_AUTH_MODE="cookie", HTTP_X_CSRFTOKEN=csrf)
    assert ok.status_code == 200, ok.content
    assert "refresh" not in ok.json()["data"]
    # Stable for the whole session: silent refreshes (and other tabs) keep using the same value.
    assert ok.json()["data"]["csrf_token"] == csrf
    again = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_AUTH_MODE="cookie", HTTP_X_CSRFTOKEN=csrf)
    assert again.status_code == 200, again.content
    # A reloaded tab asks for it with the cookie alone.
    fetched = api_client.get("/api/auth/csrf")
    assert fetched.status_code == 200 and fetched.json()["data"]["csrf_token"] == csrf
    out = api_client.post("/api/auth/logout", {}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert out.status_code == 200 and out.json()["data"]["revoked"] == 1
    assert me(ok.json()["data"]["access"]) == 401


def test_a_cookie_refresh_without_the_mode_header_still_renews_the_cookie(api_client):
    UserFactory(username="wendy")
    csrf = login(api_client, "wendy", HTTP_X_AUTH_MODE="cookie").json()["data"]["csrf_token"]
    for _ in range(2):
        r = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_CSRFTOKEN=csrf)
        assert r.status_code == 200, r.content
        assert "refresh" not in r.json()["data"] and settings.AUTH_REFRESH_COOKIE in r.cookies
    age_rotations(User.objects.get(username="wendy"))
    assert api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_CSRFTOKEN=csrf).status_code == 200


def test_csrf_value_is_per_session(api_client):
    UserFactory(username="wendy")
    first = login(api_client, "wendy", HTTP_X_AUTH_MODE="cookie").json()["data"]["csrf_token"]
    other = login(APIClient(), "wendy", HTTP_X_AUTH_MODE="cookie").json()["data"]["csrf_token"]
    assert first != other
    r = api_client.post("/api/auth/refresh", {}, format="json", HTTP_X_AUTH_MODE="cookie", HTTP_X_CSRFTOKEN=other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
def test_missing_refresh_token_is_401_refresh_missing(path):
    r = APIClient().post(path, {}, format="json", HTTP_X_AUTH_MODE="cookie")
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_missing"
    assert APIClient().get("/api/auth/csrf").json()["error"]["code"] == "refresh_missing"


def test_refresh_failures_are_401_with_specific_codes(pair):
    user, first = pair
    assert refresh("not-a-token").json()["error"]["code"] == "token_invalid"
    refresh(first["refresh"])
    age_rotations(user)
    r = refresh(first["refresh"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_reused"


@override_settings(AUTH_COOKIE_SAMESITE="Lax", AUTH_COOKIE_DOMAIN="example.com", AUTH_COOKIE_PATH="/api/")
def test_cookie_attributes_come_from_settings(api_client):
    UserFactory(username="wendy")
    r = login(api_client, "wendy", HTTP_X_AUTH_MODE="cookie")
    cookie = r.cookies[settings.AUTH_REFRESH_COOKIE]
    assert (cookie["samesite"], cookie["domain"], cookie["path"]) == ("Lax", "example.com", "/api/")


def test_grace_window_answers_the_rotated_token_with_the_current_one(pair):
    user, first = pair
    second = refresh(first["refresh"]).json()["data"]
    # A second tab (or a retry after a lost response) presents the token just rotated away.
    late = refresh(first["refresh"])
    assert late.status_code == 200, late.content
    assert me(late.json()["data"]["access"]) == 200 and me(second["access"]) == 200
    # Both tabs now hold the current generation: each can go on refreshing.
    assert refresh(late.json()["data"]["refresh"]).status_code == 200
    session = AuthSession.objects.get(user=user)
    assert session.revoked_at is None and session.generation == 2


def test_purge_forgets_long_ended_sessions_only():
    from apps.accounts.tasks import purge_sessions

    user = UserFactory()
    for _ in range(3):
        issue_token_pair(user)
    old, recent, live = AuthSession.objects.filter(user=user)
    AuthSession.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(days=31))
    AuthSession.objects.filter(pk=recent.pk).update(revoked_at=timezone.now() - timedelta(days=1))
    assert purge_sessions.delay().get() == 1
    assert set(AuthSession.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
