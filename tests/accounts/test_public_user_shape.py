import pytest
from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_fast_representation_matches_what_drf_would_render():
    user = UserFactory()
    user.profile.display_name, user.profile.public_points, user.profile.public_level = "Kid", 42, 3
    user.profile.save()
    fast = PublicUserSerializer(user).data
    slow = serializers.ModelSerializer.to_representation(PublicUserSerializer(), user)
    assert dict(fast) == dict(slow)
    assert fast["created_at"].endswith("Z") and fast["points"] == 42


def test_public_users_renders_many_in_one_query_exactly_as_the_serializer(django_assert_num_queries):
    # public_users() is what leaderboards render: the same privacy applies (holder_tier below).
    from apps.accounts.selectors import public_users

    users = [UserFactory() for _ in range(3)]
    users[1].profile.display_name, users[1].profile.public_points, users[1].profile.holder_tier = "Whale", 900, "whale"
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


def test_holder_tier_is_none_to_others_wherever_a_user_is_shown_unless_they_show_holdings(api_client, make_client):
    from django.core.cache import caches

    from apps.forum import feed_cache
    from tests.search.factories import PostFactory

    whale = UserFactory(username="quietwhale")
    whale.profile.holder_tier, whale.profile.points = "whale", 50
    whale.profile.save()
    PostFactory(author=whale, title="Quiet whale post")

    def tiers_shown() -> list[str]:
        feed = api_client.get("/api/posts").json()["data"]
        found = api_client.get("/api/search", {"q": "quietwhale", "type": "user"}).json()["data"]
        return [
            api_client.get(f"/api/users/{whale.pk}").json()["data"]["holder_tier"],
            *[p["author"]["holder_tier"] for p in feed if p["author"]["id"] == whale.pk],
            *[u["holder_tier"] for u in found if u["id"] == whale.pk],
        ]

    assert tiers_shown() == ["none"] * 3
    assert make_client(whale).get("/api/users/me").json()["data"]["holder_tier"] == "whale"
    whale.profile.show_holdings = True
    whale.profile.save()
    for alias in ("default", "local"):  # cached feed and leaderboard pages live their few seconds
        caches[alias].clear()
    feed_cache.clear_local()  # and a process's own copies of feed pages their one
    assert tiers_shown() == ["whale"] * 3
