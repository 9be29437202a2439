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
