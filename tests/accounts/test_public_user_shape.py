import pytest
from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_fast_representation_matches_what_drf_would_render():
    user = UserFactory()
    user.profile.display_name, user.profile.points, user.profile.level = "Kid", 42, 3
    user.profile.save()
    fast = PublicUserSerializer(user).data
    slow = serializers.ModelSerializer.to_representation(PublicUserSerializer(), user)
    assert dict(fast) == dict(slow)
    assert fast["created_at"].endswith("Z") and fast["points"] == 42


def test_public_users_renders_many_in_one_query_exactly_as_the_serializer(django_assert_num_queries):
    from apps.accounts.selectors import public_users

    users = [UserFactory() for _ in range(3)]
    users[1].profile.display_name, users[1].profile.points, users[1].profile.holder_tier = "Whale", 900, "whale"
    users[1].profile.save()
    with django_assert_num_queries(1):
        rendered = public_users([u.pk for u in users] + [10**9])  # an unknown id is left out
    assert set(rendered) == {u.pk for u in users}
    for user in users:
        user.refresh_from_db()
        slow = serializers.ModelSerializer.to_representation(PublicUserSerializer(), user)
        assert rendered[user.pk] == dict(slow)
    assert rendered[users[1].pk]["display_name"] == "Whale" and rendered[users[1].pk]["points"] == 900
    assert public_users([]) == {}
