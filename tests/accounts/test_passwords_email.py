"""Password reset (no enumeration, ends sessions), email change (password again, re-verify)."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.accounts.helpers import bearer, last_mail_code, login
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _reset(client, email):
    return client.post("/api/auth/password/reset", {"email": email}, format="json")


def test_reset_request_same_answer_for_known_and_unknown(api_client, django_capture_on_commit_callbacks):
    UserFactory(username="rita", email="rita@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        known = _reset(api_client, "rita@example.com")
        unknown = _reset(api_client, "ghost@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rita@example.com"]


def test_reset_confirm_sets_password_and_ends_every_session(api_client, django_capture_on_commit_callbacks):
    UserFactory(username="rita", email="rita@example.com")
    tokens = login(api_client, "rita").json()["data"]
    with django_capture_on_commit_callbacks(execute=True):
        _reset(api_client, "rita@example.com")
    uid, token = re.search(r"uid=([^&\s]+)&token=([^\s]+)", mail.outbox[-1].body).groups()
    weak = api_client.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": token, "password": "123"}, format="json"
    )
    assert weak.status_code == 400
    r = api_client.post(
        "/api/auth/password/reset/confirm",
        {"uid": uid, "token": token, "password": "fresh-start-secret-9"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert bearer(tokens["access"]).get("/api/users/me").status_code == 401
    assert APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert login(api_client, "rita", "fresh-start-secret-9").status_code == 200
    # The link is single-use: the password changed, so the token no longer checks.
    again = api_client.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": token, "password": "another-secret-10"}, format="json"
    )
    assert again.status_code == 400


def test_reset_confirm_garbage_is_400(api_client):
    r = api_client.post(
        "/api/auth/password/reset/confirm",
        {"uid": "!!", "token": "x", "password": "fresh-start-secret-9"},
        format="json",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


def test_reset_requests_per_address_are_limited(api_client, settings):
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "reset_address": (2, 3600)}
    assert _reset(api_client, "a@example.com").status_code == 202
    assert _reset(api_client, "A@example.com").status_code == 202
    r = _reset(api_client, "a@example.com")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert _reset(api_client, "b@example.com").status_code == 202


def test_email_change_needs_password_and_reverifies(django_capture_on_commit_callbacks):
    user = UserFactory(username="eve", email="eve@example.com", email_verified=True)
    other = UserFactory(email="taken@example.com")
    from apps.accounts.tokens import issue_token_pair

    client = bearer(issue_token_pair(user)["access"])
    wrong = client.post("/api/auth/email/change", {"new_email": "eve2@example.com", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["details"]
    dup = client.post(
        "/api/auth/email/change", {"new_email": "TAKEN@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert dup.status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/auth/email/change", {"new_email": "eve2@example.com", "password": DEFAULT_PASSWORD}, format="json"
        )
    assert r.status_code == 200, r.content
    assert r.json()["data"]["email"] == "eve2@example.com" and r.json()["data"]["email_verified"] is False
    assert {m.to[0] for m in mail.outbox[-2:]} == {"eve2@example.com", "eve@example.com"}  # notice to the old one
    ok = client.post("/api/auth/verify-email", {"code": last_mail_code()}, format="json")
    assert ok.status_code == 200 and User.objects.get(pk=user.pk).email_verified
    assert other.email == "taken@example.com"


def test_resend_verification(django_capture_on_commit_callbacks):
    user = UserFactory(email_verified=False)
    from apps.accounts.tokens import issue_token_pair

    client = bearer(issue_token_pair(user)["access"])
    r = client.post("/api/auth/verify-email/resend")
    assert r.status_code == 202 and mail.outbox[-1].to == [user.email]
    user2 = UserFactory()
    assert bearer(issue_token_pair(user2)["access"]).post("/api/auth/verify-email/resend").status_code == 409


def test_passwordless_account_changes_email_only_after_a_recent_sign_in(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.models import AuthSession
    from apps.accounts.tokens import issue_token_pair

    user = UserFactory(email="")
    user.set_unusable_password()
    user.save()
    tokens = issue_token_pair(user)
    AuthSession.objects.filter(user=user).update(created_at=timezone.now() - timedelta(hours=1))
    stale = bearer(tokens["access"]).post("/api/auth/email/change", {"new_email": "w@example.com"}, format="json")
    assert stale.status_code == 403
    fresh = bearer(issue_token_pair(user)["access"])
    with django_capture_on_commit_callbacks(execute=True):
        r = fresh.post("/api/auth/email/change", {"new_email": "w@example.com"}, format="json")
    assert r.status_code == 200 and r.json()["data"]["email"] == "w@example.com"
    assert mail.outbox[-1].to == ["w@example.com"]
