"""A signed-in request's check (apps.accounts.authentication): one statement, sent with the RLS
context, that reads the account, its profile and the token's session afresh on every request, so a
logout, a ban, a suspension, a deactivation or a role change counts on the very next read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.authentication import user_for_token, validate_access_token
from apps.accounts.models import Profile, User
from apps.accounts.tokens import issue_token_pair
from tests.accounts.helpers import bearer, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def statements(client: APIClient, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_the_sign_in_check_is_one_statement_with_the_rls_context(make_client, user):
    reader = make_client(user)
    reader.get("/api/posts")  # the minute's last_seen write is not this test's business
    sent = statements(reader, "/api/posts")
    check = [sql for sql in sent if "app.user_id" in sql or "sessions" in sql]
    assert len(check) == 1, sent  # the context and the lookup travel together
    assert check[0].startswith("SELECT set_config('app.user_id',") and 'FROM "sessions"' in check[0]


def test_the_signed_in_user_is_the_stored_account_and_profile(user):
    Profile.objects.filter(user=user).update(
        display_name="Tess", links=[{"label": "site", "url": "https://example.com"}], settings={"nsfw": True}
    )
    User.objects.filter(pk=user.pk).update(role="moderator", suspension_reason="old")
    token = validate_access_token(issue_token_pair(user)["access"])
    signed_in = user_for_token(token)
    stored = User.objects.select_related("profile").get(pk=user.pk)
    for field in User._meta.concrete_fields:
        assert getattr(signed_in, field.attname) == getattr(stored, field.attname), field.name
    for field in Profile._meta.concrete_fields:
        assert getattr(signed_in.profile, field.attname) == getattr(stored.profile, field.attname), field.name
    assert signed_in.profile.links[0]["url"] == "https://example.com" and signed_in.profile.settings == {"nsfw": True}
    assert signed_in.profile.user is signed_in and signed_in.is_moderator
    # No profile row: `user.profile` raises, as after select_related("profile").
    Profile.objects.filter(user=user).delete()
    with pytest.raises(Profile.DoesNotExist):
        _ = user_for_token(token).profile


@pytest.mark.parametrize("path", ["/api/posts", "/api/categories"])
def test_a_logout_ends_signed_in_reads_at_once(api_client, user, path):
    tokens = login(api_client, user.username).json()["data"]
    reader = bearer(tokens["access"])
    assert reader.get(path).status_code == 200
    assert APIClient().post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    r = reader.get(path)
    assert r.status_code == 401 and error_code(r) == "token_invalid"


def test_a_ban_a_suspension_and_a_deactivation_end_reads_at_once(make_client, django_capture_on_commit_callbacks):
    moderator = UserFactory(role="moderator")
    member = UserFactory()
    reader = make_client(member)
    assert reader.get("/api/posts").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = make_client(moderator).post(f"/api/users/{member.pk}/suspend", {"hours": 1}, format="json")
    assert r.status_code == 200, r.content
    assert reader.get("/api/posts").status_code == 401  # the suspension moved the token version on

    # A standing written without moving the token version on (another process, a console): the
    # next request still reads it.
    other = UserFactory()
    reader = make_client(other)
    assert reader.get("/api/posts").status_code == 200
    User.objects.filter(pk=other.pk).update(suspended_until=timezone.now() + timedelta(hours=1))
    r = reader.get("/api/posts")
    assert r.status_code == 403 and error_code(r) == "account_suspended"
    User.objects.filter(pk=other.pk).update(suspended_until=None, is_active=False)
    r = reader.get("/api/posts")
    assert r.status_code == 401 and error_code(r) == "token_invalid"


def test_a_role_change_counts_on_the_next_request(make_client):
    admin = UserFactory(role="admin")
    member, target = UserFactory(), UserFactory()
    reader = make_client(member)  # one token throughout
    audit = f"/api/users/{target.pk}/audit"
    assert reader.get(audit).status_code == 403
    promote = make_client(admin).post(f"/api/users/{member.pk}/role", {"role": "moderator"}, format="json")
    assert promote.status_code == 200, promote.content
    assert reader.get(audit).status_code == 200
    demote = make_client(admin).post(f"/api/users/{member.pk}/role", {"role": "user"}, format="json")
    assert demote.status_code == 200, demote.content
    assert reader.get(audit).status_code == 403
