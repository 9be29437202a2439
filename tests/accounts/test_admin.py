"""The Django admin: find a user, see providers and sessions, change roles, suspend, read the audit log."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from apps.accounts import services
from apps.accounts.models import AccountAuditLog, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def admin_user():
    u = UserFactory(username="root_admin")
    return services.role_assign(user=u, role="admin", by=None)


@pytest.fixture
def target():
    u = UserFactory(username="findme", email="findme@example.com")
    SocialAccount.objects.create(user=u, provider="github", uid="583231", extra_data={"login": "findme"})
    return u


def test_admin_finds_user_and_sees_providers_and_audit(admin_user, target):
    c = staff_client(admin_user)
    r = c.get("/admin/accounts/user/", {"q": "findme@example"})
    assert r.status_code == 200 and b"findme" in r.content
    r = c.get("/admin/accounts/user/", {"q": "583231"})  # by provider uid
    assert b"findme" in r.content
    services.user_suspend(user=target, by=admin_user, until=None, reason="spam")
    r = c.get(f"/admin/accounts/user/{target.pk}/change/")
    assert r.status_code == 200
    assert b"OAuth providers" in r.content and b"583231" in r.content
    assert b"Audit log" in r.content and b"spam" in r.content
    # Other areas add their inlines to the same page (wallet links, moderation history).
    assert b"Wallets" in r.content and b"Moderation history" in r.content
    assert c.get("/admin/accounts/accountauditlog/").status_code == 200
    entry = AccountAuditLog.objects.get(target=target)
    assert c.get(f"/admin/accounts/accountauditlog/{entry.pk}/change/").status_code == 200
    # Read-only: no add, no delete.
    assert c.get("/admin/accounts/accountauditlog/add/").status_code == 403
    assert c.post(f"/admin/accounts/accountauditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccountAuditLog.objects.filter(pk=entry.pk).exists()


def test_admin_actions_change_role_and_suspend_with_audit(admin_user, target):
    c = staff_client(admin_user)
    r = c.post("/admin/accounts/user/", {"action": "make_moderator", "_selected_action": [target.pk]}, follow=True)
    assert r.status_code == 200
    target.refresh_from_db()
    assert target.role == "moderator"
    c.post("/admin/accounts/user/", {"action": "suspend_24", "_selected_action": [target.pk]})
    # An admin outranks a moderator, so may suspend them.
    target.refresh_from_db()
    assert target.is_suspended
    c.post("/admin/accounts/user/", {"action": "lift_suspension", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert not target.is_suspended
    assert list(AccountAuditLog.objects.filter(target=target).values_list("action", flat=True)) == [
        "unsuspended",
        "suspended",
        "role_changed",
    ]


def test_moderator_can_suspend_but_not_change_roles(target):
    mod = services.role_assign(user=UserFactory(username="mod"), role="moderator", by=None)
    c = staff_client(mod)
    assert c.get("/admin/accounts/user/").status_code == 200
    c.post("/admin/accounts/user/", {"action": "make_admin", "_selected_action": [target.pk]})
    assert User.objects.get(pk=target.pk).role == "user"
    c.post("/admin/accounts/user/", {"action": "suspend_24", "_selected_action": [target.pk]})
    assert User.objects.get(pk=target.pk).is_suspended


def test_plain_users_have_no_admin(target):
    c = staff_client(target)
    assert c.get("/admin/accounts/user/").status_code == 302  # to the admin login
