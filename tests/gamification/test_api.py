"""Catalogue endpoints and the points history."""

import pytest

from apps.gamification import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_activities_catalogue(api_client):
    body = api_client.get("/api/points/activities").json()
    by_code = {a["code"]: a for a in body["data"]}
    assert by_code["post_created"]["points"] == 10 and by_code["post_created"]["daily_cap"] == 50
    assert {"upvote" in c for c in by_code} and "milestone_witnessed" in by_code
    assert body["meta"]["pagination"]["total"] == len(body["data"])


def test_levels_curve(api_client):
    body = api_client.get("/api/levels").json()
    assert [(lv["level"], lv["min_points"]) for lv in body["data"][:4]] == [(1, 0), (2, 50), (3, 200), (4, 450)]
    assert "post_links" in body["data"][1]["perks"]


def test_level_perks_for_other_apps():
    from apps.gamification.catalogue import user_level_allows

    user = UserFactory()
    assert not user_level_allows(user, "post_images")
    services.award_points(user_id=user.id, activity="wallet_verified", idempotency_key="w")
    user.profile.refresh_from_db()
    assert user_level_allows(user, "post_images")
    assert not user_level_allows(user, "no_such_perk")


def test_points_history_cursor_pagination(api_client, django_assert_max_num_queries):
    user = UserFactory()
    for i in range(25):
        services.award_points(user_id=user.id, activity="comment_created", idempotency_key=f"c{i}")
    with django_assert_max_num_queries(3):
        first = api_client.get(f"/api/users/{user.id}/points?limit=10").json()
    assert len(first["data"]) == 10 and first["meta"]["balance"] == {"points": 40, "level": 1}
    ids = [r["id"] for r in first["data"]]
    second = api_client.get(
        f"/api/users/{user.id}/points?limit=10&cursor={first['meta']['pagination']['next_cursor']}"
    ).json()
    ids += [r["id"] for r in second["data"]]
    assert len(ids) == 20 and ids == sorted(ids, reverse=True)  # 20 rows: the 40-point cap stopped the rest
    assert second["meta"]["pagination"]["next_cursor"] is None
    assert second["meta"]["pagination"]["prev_cursor"] is not None
    assert "actor_id" not in first["data"][0]


def test_points_history_bad_cursor_and_unknown_user(api_client):
    user = UserFactory()
    r = api_client.get(f"/api/users/{user.id}/points?cursor=garbage!!")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert api_client.get("/api/users/987654/points").status_code == 404


def test_schema_lists_the_endpoints(api_client):
    paths = api_client.get("/api/schema?format=json").json()["paths"]
    for p in [
        "/api/points/activities",
        "/api/achievements",
        "/api/users/{user_id}/achievements",
        "/api/users/{user_id}/points",
        "/api/leaderboard",
        "/api/levels",
    ]:
        assert p in paths, p
