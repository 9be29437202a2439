"""Roles, suspensions and bans, the audit log, grant_role."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.accounts.access import user_can
from apps.accounts.events import RoleChanged, UserSuspended
from apps.accounts.models import AccountAuditLog, RoleAssignment, User
from apps.core import events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "user": UserFactory(username="plain"),
        "mod": UserFactory(username="mod1", role="moderator"),
        "admin": UserFactory(username="boss", role="admin"),
    }


def test_admin_assigns_role_history_audit_and_event(people, make_client, django_capture_on_commit_callbacks):
    seen = []
    events.subscribe(RoleChanged, seen.append)
    client = make_client(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/api/users/{people['user'].pk}/role", {"role": "moderator", "reason": "helpful"}, format="json"
        )
    assert r.status_code == 200, r.content
    target = User.objects.get(pk=people["user"].pk)
    assert target.role == "moderator" and target.is_moderator and target.is_staff
    assert RoleAssignment.objects.get(user=target).assigned_by == people["admin"]
    entry = AccountAuditLog.objects.get(target=target)
    assert entry.action == "role_changed" and entry.data == {"from": "user", "to": "moderator"}
    assert entry.actor == people["admin"] and entry.ip == "127.0.0.1"
    assert any(e.user_id == target.pk and e.new_role == "moderator" for e in seen)
    # Permissions are evaluated at request time: the new moderator can suspend at once.
    assert user_can(target, "users.suspend")


def test_moderator_cannot_assign_roles(people, make_client):
    r = make_client(people["mod"]).post(f"/api/users/{people['user'].pk}/role", {"role": "admin"}, format="json")
    assert r.status_code == 403
    assert User.objects.get(pk=people["user"].pk).role == "user"


def test_bad_role_is_400(people, make_client):
    r = make_client(people["admin"]).post(f"/api/users/{people['user'].pk}/role", {"role": "god"}, format="json")
    assert r.status_code == 400


def test_timed_suspension_and_lift(people, make_client, django_capture_on_commit_callbacks):
    seen = []
    events.subscribe(UserSuspended, seen.append)
    target = people["user"]
    victim_client = make_client(target)
    mod = make_client(people["mod"])
    with django_capture_on_commit_callbacks(execute=True):
        r = mod.post(f"/api/users/{target.pk}/suspend", {"hours": 24, "reason": "spam"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["data"]["is_suspended"] is True
    assert victim_client.get("/api/users/me").status_code == 401
    target.refresh_from_db()
    assert target.is_suspended and not user_can(target, "content.create")
    assert timezone.now() + timedelta(hours=23) < target.suspended_until < timezone.now() + timedelta(hours=25)
    assert seen and seen[-1].user_id == target.pk and seen[-1].reason == "spam"
    r = mod.delete(f"/api/users/{target.pk}/suspend")
    assert r.status_code == 200 and r.json()["data"]["is_suspended"] is False
    actions = list(AccountAuditLog.objects.filter(target=target).values_list("action", flat=True))
    assert actions == ["unsuspended", "suspended"]


def test_ban_is_permanent(people, make_client):
    target = people["user"]
    r = make_client(people["admin"]).post(f"/api/users/{target.pk}/suspend", {"permanent": True}, format="json")
    assert r.status_code == 200
    target.refresh_from_db()
    assert target.suspended_until.year == 9999
    assert AccountAuditLog.objects.get(target=target).action == "banned"
    from tests.accounts.helpers import login

    r = login(__import__("rest_framework.test").test.APIClient(), target.username)
    assert r.status_code == 403 and r.json()["error"]["details"]["until"] is None


def test_suspend_rules(people, make_client):
    mod = make_client(people["mod"])
    other_mod = UserFactory(role="moderator")
    assert mod.post(f"/api/users/{other_mod.pk}/suspend", {"hours": 1}, format="json").status_code == 403
    assert mod.post(f"/api/users/{people['admin'].pk}/suspend", {"hours": 1}, format="json").status_code == 403
    assert mod.post(f"/api/users/{people['user'].pk}/suspend", {}, format="json").status_code == 400
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert mod.post(f"/api/users/{people['user'].pk}/suspend", {"until": past}, format="json").status_code == 400
    assert mod.post("/api/users/999999/suspend", {"hours": 1}, format="json").status_code == 404
    assert (
        make_client(people["user"])
        .post(f"/api/users/{people['mod'].pk}/suspend", {"hours": 1}, format="json")
        .status_code
        == 403
    )
    assert not AccountAuditLog.objects.exists()


def test_audit_log_endpoint(people, make_client):
    from apps.accounts import services

    target = people["user"]
    services.user_suspend(user=target, by=people["mod"], until=timezone.now() + timedelta(hours=1), reason="r1")
    services.user_unsuspend(user=target, by=people["mod"])
    services.role_assign(user=target, role="moderator", by=people["admin"])
    r = make_client(people["mod"]).get(f"/api/users/{target.pk}/audit?limit=2")
    assert r.status_code == 200
    body = r.json()
    assert [e["action"] for e in body["data"]] == ["role_changed", "unsuspended"]
    assert body["data"][0]["actor"]["username"] == "boss"
    nxt = make_client(people["mod"]).get(
        f"/api/users/{target.pk}/audit?cursor={body['meta']['pagination']['next_cursor']}"
    )
    assert [e["action"] for e in nxt.json()["data"]] == ["suspended"]
    assert make_client(UserFactory()).get(f"/api/users/{target.pk}/audit").status_code == 403


def test_grant_role_command(people):
    call_command("grant_role", "PLAIN", "admin")
    target = User.objects.get(pk=people["user"].pk)
    assert target.role == "admin" and target.is_staff
    entry = AccountAuditLog.objects.get(target=target)
    assert entry.actor is None and entry.data["to"] == "admin"
    with pytest.raises(CommandError):
        call_command("grant_role", "nobody", "admin")
