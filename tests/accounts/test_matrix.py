"""Authorisation matrix: every accounts endpoint as anonymous, the user, another user, a
moderator and an admin. Each cell runs on a fresh database."""

from __future__ import annotations

import pytest
from django.urls import URLPattern
from rest_framework.test import APIClient

from apps.accounts.api import urls as account_urls
from apps.accounts.models import AuthSession
from apps.accounts.tokens import issue_token_pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLERS = ["anon", "user", "other", "mod", "admin"]


def row(name, method, path, body, anon, user, other, mod, admin):
    return (name, method, path, body, dict(zip(CALLERS, (anon, user, other, mod, admin), strict=True)))


# path placeholders: {owner} the user's id, {session} one of the user's sessions
MATRIX = [
    row("auth-register", "post", "/api/auth/register", {}, 400, 400, 400, 400, 400),
    row("auth-login", "post", "/api/auth/login", {}, 400, 400, 400, 400, 400),
    row("auth-refresh", "post", "/api/auth/refresh", {}, 401, 401, 401, 401, 401),
    row("auth-csrf", "get", "/api/auth/csrf", None, 401, 401, 401, 401, 401),
    row("auth-logout", "post", "/api/auth/logout", {}, 401, 401, 401, 401, 401),
    row("auth-sessions", "get", "/api/auth/sessions", None, 401, 200, 200, 200, 200),
    row("auth-session", "delete", "/api/auth/sessions/{session}", None, 401, 204, 404, 404, 404),
    row("auth-verify-email", "post", "/api/auth/verify-email", {}, 400, 400, 400, 400, 400),
    row("auth-verify-resend", "post", "/api/auth/verify-email/resend", None, 401, 409, 409, 409, 409),
    row("auth-password-reset", "post", "/api/auth/password/reset", {}, 400, 400, 400, 400, 400),
    row("auth-password-confirm", "post", "/api/auth/password/reset/confirm", {}, 400, 400, 400, 400, 400),
    row("auth-password-change", "post", "/api/auth/password/change", {}, 401, 400, 400, 400, 400),
    row("auth-email-change", "post", "/api/auth/email/change", {}, 401, 400, 400, 400, 400),
    row("auth-identities", "get", "/api/auth/identities", None, 401, 200, 200, 200, 200),
    row("auth-identity", "delete", "/api/auth/identities/password/{owner}", None, 401, 409, 404, 404, 404),
    row("auth-oauth-session", "post", "/api/auth/oauth/session", None, 401, 401, 401, 401, 401),
    row("auth-oauth-link-token", "post", "/api/auth/oauth/link-token", None, 401, 201, 201, 201, 201),
    row("user-detail", "get", "/api/users/{owner}", None, 200, 200, 200, 200, 200),
    row("user-detail", "get", "/api/users/me", None, 401, 200, 200, 200, 200),
    row("user-detail", "put", "/api/users/{owner}", {"bio": "x"}, 401, 200, 403, 403, 200),
    row("user-detail", "delete", "/api/users/{owner}", {"password": "wrong"}, 401, 400, 403, 403, 403),
    row("user-settings", "get", "/api/users/{owner}/settings", None, 401, 200, 403, 403, 200),
    row("user-settings", "put", "/api/users/{owner}/settings", {"theme": "dark"}, 401, 200, 403, 403, 200),
    row("user-avatar", "post", "/api/users/{owner}/avatar", {}, 401, 400, 403, 403, 400),
    row("user-role", "post", "/api/users/{owner}/role", {"role": "moderator"}, 401, 403, 403, 403, 200),
    row("user-suspend", "post", "/api/users/{owner}/suspend", {"hours": 1}, 401, 403, 403, 200, 200),
    row("user-suspend", "delete", "/api/users/{owner}/suspend", None, 401, 403, 403, 200, 200),
    row("user-audit", "get", "/api/users/{owner}/audit", None, 401, 403, 403, 200, 200),
]


def _cells():
    for name, method, path, body, expected in MATRIX:
        for caller in CALLERS:
            yield pytest.param(method, path, body, caller, expected[caller], id=f"{method}-{path}-{caller}")


@pytest.mark.parametrize(("method", "path", "body", "caller", "status"), _cells())
def test_matrix(method, path, body, caller, status):
    owner = UserFactory(username="owner")
    people = {
        "user": owner,
        "other": UserFactory(username="other"),
        "mod": UserFactory(username="mod", role="moderator"),
        "admin": UserFactory(username="admin_1", role="admin"),
    }
    owner_tokens = issue_token_pair(owner)
    session = AuthSession.objects.filter(user=owner).first()
    client = APIClient()
    if caller == "user":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner_tokens['access']}")
    elif caller != "anon":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(people[caller])['access']}")
    url = path.format(owner=owner.pk, session=session.pk)
    kwargs = {"format": "multipart" if url.endswith("/avatar") else "json"} if body is not None else {}
    response = getattr(client, method)(url, body, **kwargs) if body is not None else getattr(client, method)(url)
    assert response.status_code == status, response.content
    if status >= 400:
        assert "error" in response.json()


def test_every_accounts_endpoint_is_in_the_matrix():
    names = {p.name for p in account_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {r[0] for r in MATRIX}
