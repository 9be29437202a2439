"""What the global board and a user's public standing count: points earned where everyone may
read (apps.core.access.public_category_ids) and points tied to no category. Points earned in a
restricted category count on that category's own board only, which only its readers see.

Each test earns points the way the forum earns them (a post through the API, a vote event) in a
holders-only category, then looks through the public API as someone who may not read it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.core.events import dispatch
from apps.forum.events import VoteChanged
from apps.forum.models import Category
from apps.gamification import services
from tests.factories import UserFactory
from tests.gamification.factories import VeteranFactory

pytestmark = pytest.mark.django_db

PERIODS = ("day", "week", "month", "all")


@pytest.fixture
def rooms(db):
    public = Category.objects.create(name="Town square", slug="town-square")
    vault = Category.objects.create(name="Vault", slug="vault", read_min_tier="holder")
    return {"public": public, "vault": vault}


def holder():
    user = UserFactory()
    user.profile.holder_tier = "holder"
    user.profile.save()
    return user


def post_as(make_client, user, category, django_capture_on_commit_callbacks, title="Llamas at dawn"):
    with django_capture_on_commit_callbacks(execute=True):
        r = make_client(user).post(
            "/api/posts", {"title": title, "body": "Fist clenched", "category": category.slug}, format="json"
        )
    assert r.status_code == 201, r.json()
    return r.json()["data"]["id"]


def upvote(post_id, author, category):
    dispatch(
        VoteChanged(
            target_type="post",
            target_id=post_id,
            target_author_id=author.pk,
            voter_id=VeteranFactory().pk,
            old_value=0,
            new_value=1,
            post_id=post_id,
            category_id=category.pk,
        )
    )


def board(client, period, category=None):
    params = {"period": period, "limit": 100}
    if category:
        params["category"] = category
    r = client.get("/api/leaderboard", params)
    assert r.status_code == 200, r.json()
    body = r.json()
    return {row["user"]["id"]: row["points"] for row in body["data"]}, body["meta"]


@pytest.fixture
def earned(rooms, make_client, django_capture_on_commit_callbacks, settings):
    """`insider` posts only in the vault (and is upvoted there); `townie` posts in the square."""
    settings.LEADERBOARD_PAGE_CACHE_SECONDS = 0
    insider, townie = holder(), UserFactory()
    secret = post_as(make_client, insider, rooms["vault"], django_capture_on_commit_callbacks)
    upvote(secret, insider, rooms["vault"])
    post_as(make_client, townie, rooms["public"], django_capture_on_commit_callbacks)
    return insider, townie


def check_boards(api_client, make_client, insider, townie, source):
    reader = make_client(holder())
    for period in PERIODS:
        rows, meta = board(api_client, period)
        assert meta["leaderboard"]["source"] == source
        assert insider.pk not in rows, (period, rows)
        assert townie.pk in rows and meta["pagination"]["total"] == 1, (period, rows)
        # The vault's own board still counts them, for those who may read it.
        vault_rows, _ = board(reader, period, "vault")
        assert vault_rows.get(insider.pk, 0) > 0, period
        assert api_client.get("/api/leaderboard", {"period": period, "category": "vault"}).status_code == 404
        # The global board is the same for a reader of the vault: it counts what everyone may read.
        reader_rows, _ = board(reader, period)
        assert insider.pk not in reader_rows, period


def test_restricted_points_stay_off_the_global_board_from_the_database(api_client, make_client, earned):
    check_boards(api_client, make_client, *earned, source="database")


def test_restricted_points_stay_off_the_global_board_in_redis(lb_redis, api_client, make_client, rooms, earned):
    services.rebuild_redis_leaderboards()  # ready sets; later awards are applied incrementally
    insider, townie = earned
    upvote(990_001, insider, rooms["vault"])  # after the sets are ready: applied incrementally
    check_boards(api_client, make_client, insider, townie, source="redis")


def test_rebuilds_apply_the_same_rule(lb_redis, api_client, make_client, earned):
    call_command("rebuild_leaderboards")
    check_boards(api_client, make_client, *earned, source="redis")
    lb_redis.flushdb()
    call_command("rebuild_leaderboards")
    check_boards(api_client, make_client, *earned, source="redis")


def test_rebuild_without_redis_applies_the_same_rule(api_client, make_client, earned):
    call_command("rebuild_leaderboards")
    check_boards(api_client, make_client, *earned, source="database")


def test_around_me_on_the_global_board_counts_public_points_only(make_client, earned):
    insider, townie = earned
    body = make_client(insider).get("/api/leaderboard", {"period": "week", "around": "me"}).json()
    assert body["meta"]["me"] is None and insider.pk not in {r["user"]["id"] for r in body["data"]}


def test_a_category_closed_later_leaves_the_global_board_after_a_rebuild(api_client, make_client, rooms, earned):
    insider, townie = earned
    square = rooms["public"]
    square.read_min_tier = "holder"
    square.save()
    call_command("rebuild_leaderboards")
    rows, meta = board(api_client, "week")
    assert rows == {} and meta["pagination"]["total"] == 0
    who = api_client.get(f"/api/users/{townie.pk}").json()["data"]
    assert who["points"] == 0 and who["level"] == 1
    square.read_min_tier = "none"
    square.save()
    call_command("rebuild_leaderboards")
    rows, _ = board(api_client, "week")
    assert set(rows) == {townie.pk}


def test_a_category_turning_restricted_or_public_rebuilds_the_boards_by_itself(
    lb_redis, api_client, rooms, earned, django_capture_on_commit_callbacks, monkeypatch
):
    insider, townie = earned
    services.rebuild_redis_leaderboards()
    square = rooms["public"]
    square.read_access = "user"  # members only: no longer public
    with django_capture_on_commit_callbacks(execute=True):
        square.save()
    rows, meta = board(api_client, "all")
    assert rows == {} and meta["leaderboard"]["source"] == "redis"
    assert api_client.get(f"/api/users/{townie.pk}").json()["data"]["points"] == 0
    square.read_access = "anyone"
    with django_capture_on_commit_callbacks(execute=True):
        square.save()
    rows, _ = board(api_client, "all")
    assert set(rows) == {townie.pk} and api_client.get(f"/api/users/{townie.pk}").json()["data"]["points"] > 0
    # A save that leaves the category as public as it was queues no rebuild.
    from apps.gamification import tasks

    queued = []
    monkeypatch.setattr(tasks.rebuild_leaderboards, "delay", lambda: queued.append(1))
    square.name, square.read_min_tier = "Town square (renamed)", "none"
    rooms["vault"].read_min_tier = "whale"  # restricted either way
    with django_capture_on_commit_callbacks(execute=True):
        square.save()
        rooms["vault"].save()
    assert queued == []


# --- the public standing elsewhere -------------------------------------------------------------


def test_public_profile_shows_public_points_only(api_client, make_client, rooms, earned):
    insider, townie = earned
    shown = api_client.get(f"/api/users/{insider.pk}").json()["data"]
    assert shown["points"] == 0 and shown["level"] == 1
    assert api_client.get(f"/api/users/{townie.pk}").json()["data"]["points"] > 0
    # The owner sees everything they earned.
    mine = make_client(insider).get("/api/users/me").json()["data"]
    assert mine["points"] > 0


def test_author_shape_on_a_public_post_shows_public_points_only(
    api_client, make_client, rooms, earned, django_capture_on_commit_callbacks
):
    insider, _ = earned
    insider.profile.refresh_from_db()
    before = insider.profile.points
    public_post = post_as(
        make_client, insider, rooms["public"], django_capture_on_commit_callbacks, title="Now in the square"
    )
    insider.profile.refresh_from_db()
    earned_in_public = insider.profile.points - before
    author = api_client.get(f"/api/posts/{public_post}").json()["data"]["author"]
    assert author["points"] == earned_in_public
    feed = api_client.get("/api/posts").json()["data"]
    assert {p["author"]["points"] for p in feed if p["author"]["id"] == insider.pk} == {earned_in_public}
    rows, _ = board(api_client, "all")
    assert rows[insider.pk] == earned_in_public


def test_points_balance_shows_public_points_to_others(api_client, make_client, earned):
    insider, _ = earned
    balance = api_client.get(f"/api/users/{insider.pk}/points").json()["meta"]["balance"]
    assert balance == {"points": 0, "level": 1}
    own = make_client(insider).get(f"/api/users/{insider.pk}/points").json()["meta"]["balance"]
    assert own["points"] > 0


def achievement_codes(client, user) -> set[str]:
    return {a["achievement"]["code"] for a in client.get(f"/api/users/{user.pk}/achievements").json()["data"]}


def test_first_post_achievement_from_the_vault_is_not_shown_to_outsiders(api_client, make_client, earned):
    insider, townie = earned
    assert "first_post" not in achievement_codes(api_client, insider)
    assert "first_post" in achievement_codes(api_client, townie)
    assert "first_post" in achievement_codes(make_client(holder()), insider)
    assert "first_post" in achievement_codes(make_client(insider), insider)


def test_a_tier_achievement_is_hidden_with_the_holdings_its_owner_hides(api_client, make_client):
    """A "Holder" achievement tells the tier as plainly as `holder_tier` does: it follows the
    owner's show-holdings setting, as the public user shape does."""
    from apps.gamification.services.achievements import check_achievements

    owner = holder()
    owner.profile.show_holdings = False
    owner.profile.save(update_fields=["show_holdings"])
    assert "holder" in check_achievements(user_id=owner.pk, holder_tier="holder")
    assert api_client.get(f"/api/users/{owner.pk}").json()["data"]["holder_tier"] == "none"
    assert "holder" not in achievement_codes(api_client, owner)
    assert "holder" not in achievement_codes(make_client(UserFactory()), owner)
    assert "holder" in achievement_codes(make_client(owner), owner)
    owner.profile.show_holdings = True
    owner.profile.save(update_fields=["show_holdings"])
    assert "holder" in achievement_codes(api_client, owner)
