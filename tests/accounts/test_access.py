"""Permissions evaluated at request time: role hierarchy, grants from other standing, suspension."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts import access
from apps.accounts.access import register_grant, register_permission, user_can
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cleanup():
    before = (dict(access.PERMISSIONS), set(access.CONTRIBUTION_PERMISSIONS), list(access._grants))
    yield
    access.PERMISSIONS.clear()
    access.PERMISSIONS.update(before[0])
    access.CONTRIBUTION_PERMISSIONS.clear()
    access.CONTRIBUTION_PERMISSIONS.update(before[1])
    access._grants[:] = before[2]


def test_hierarchy():
    user, mod, admin = UserFactory(), UserFactory(role="moderator"), UserFactory(role="admin")
    su = UserFactory(is_superuser=True)
    assert user_can(user, "content.create") and not user_can(user, "content.moderate")
    assert user_can(mod, "content.moderate") and not user_can(mod, "users.assign_role")
    assert user_can(admin, "users.assign_role") and user_can(su, "users.assign_role")


def test_a_grant_from_other_standing_applies_at_request_time(cleanup):
    register_permission("forum.create_poll", "moderator", contribution=True)
    user = UserFactory()
    assert not user_can(user, "forum.create_poll")
    register_grant(lambda u, perm: perm == "forum.create_poll" and u.profile.level >= 5)
    assert not user_can(user, "forum.create_poll")
    user.profile.level = 5
    assert user_can(user, "forum.create_poll")
    user.suspended_until = timezone.now() + timedelta(hours=1)
    assert not user_can(user, "forum.create_poll")  # a grant never lifts a suspension
