"""One account standing (User.suspended_until, written only by accounts' user_suspend /
user_unsuspend): moderation's ban is that model, login says so, moderators still see the profile,
DELETE /api/users/:id/suspend lifts it, and lifting never brings a deleted account back."""

from __future__ import annotations

import pytest

from apps.accounts.events import UserReinstated, UserSuspended
from apps.accounts.models import User
from apps.core import events
from tests.accounts.helpers import login
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.moderation.factories import ModeratorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return ModeratorFactory()


@pytest.fixture
def standing_events():
    got: list = []
    for kind in (UserSuspended, UserReinstated):
        events.subscribe(kind, got.append)
    yield got
    for kind in (UserSuspended, UserReinstated):
        events.unsubscribe(kind, got.append)


def _moderate(client, action: str, user_id: int, **extra):
    body = {"action": action, "target_type": "user", "target_id": user_id, "reason": "spam", **extra}
    return client.post("/api/moderation/actions", body, format="json")


def test_a_moderation_ban_is_the_account_standing(
    api_client, make_client, moderator, standing_events, django_capture_on_commit_callbacks
):
    member = UserFactory(username="spammer")
    mod = make_client(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        assert _moderate(mod, "ban", member.pk).status_code == 200
    # Login says the account is banned (a clear code), not "wrong login or password".
    r = login(api_client, "spammer")
    assert r.status_code == 403, r.json()
    error = r.json()["error"]
    assert error["code"] == "account_suspended" and error["details"]["until"] is None and error["details"]["banned"]
    # The one service emitted the event the socket side listens to.
    assert [type(e) for e in standing_events] == [UserSuspended] and standing_events[0].until is None
    # Moderators still see the profile.
    assert mod.get(f"/api/users/{member.pk}").status_code == 200
    # Lifting through the accounts API really lifts a moderation ban.
    with django_capture_on_commit_callbacks(execute=True):
        assert mod.delete(f"/api/users/{member.pk}/suspend").status_code == 200
    assert login(api_client, "spammer").status_code == 200
    assert isinstance(standing_events[-1], UserReinstated)


def test_a_banned_token_is_refused(make_client, moderator):
    member = UserFactory()
    client = make_client(member)
    assert client.get("/api/users/me").status_code == 200
    assert _moderate(make_client(moderator), "ban", member.pk).status_code == 200
    assert client.get("/api/users/me").status_code == 401  # every token stopped at once


def test_lifting_never_reactivates_a_deleted_account(make_client, moderator, django_capture_on_commit_callbacks):
    from apps.privacy.services import ghost_user

    member = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        r = make_client(member).delete("/api/users/me", {"password": DEFAULT_PASSWORD}, format="json")
    assert r.status_code in (200, 202, 204), r.content
    ghost = ghost_user()
    mod = make_client(moderator)
    for user in (User.objects.get(pk=member.pk), ghost):
        assert _moderate(mod, "unsuspend", user.pk).status_code == 200
        assert mod.delete(f"/api/users/{user.pk}/suspend").status_code == 200
        user.refresh_from_db()
        assert not user.is_active, user.username
