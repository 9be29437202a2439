"""Achievements: progress, unlock once with bonus/event/broadcast, streaks, levels, standing,
backfill, and who sees what."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core import push
from apps.core.events import DomainEvent, dispatch, subscribe, unsubscribe
from apps.forum.events import PostCreated
from apps.gamification import catalogue, jobs, services
from apps.gamification.events import AchievementUnlocked
from apps.gamification.models import PointTransaction, UserAchievement, UserStats
from apps.gamification.periods import period_start
from tests.factories import UserFactory
from tests.gamification.factories import AchievementFactory

pytestmark = pytest.mark.django_db


def codes(user) -> set[str]:
    return set(UserAchievement.objects.filter(user=user).values_list("achievement__code", flat=True))


def post(author, post_id, when=None):
    if when is None:
        dispatch(PostCreated(post_id=post_id, author_id=author.id, category_id=1))
    else:
        services.content_created(kind="post", object_id=post_id, author_id=author.id, category_id=1, now=when)


def test_counter_progress_then_unlock_once(make_client, monkeypatch, django_capture_on_commit_callbacks):
    author = UserFactory()
    for i in range(3):
        post(author, i)
    mine = make_client(author).get(f"/api/users/{author.id}/achievements?limit=100").json()["data"]
    posts_10 = next(r for r in mine if r["achievement"]["code"] == "posts_10")
    assert posts_10["unlocked"] is False and posts_10["progress"] == {"current": 3, "target": 10}

    got: list[DomainEvent] = []
    sent = []
    monkeypatch.setattr(push, "broadcast_now", lambda *a, **_: sent.append(a))
    subscribe(AchievementUnlocked, got.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(3, 12):
                post(author, i)
    finally:
        unsubscribe(AchievementUnlocked, got.append)
    assert "posts_10" in codes(author)
    assert UserAchievement.objects.filter(user=author, achievement__code="posts_10").count() == 1
    assert (
        PointTransaction.objects.filter(user=author, idempotency_key=f"achievement:posts_10:{author.id}").get().amount
        == 25
    )
    assert [e for e in got if e.achievement_id == catalogue.active_achievements()[1].id]
    unlocked = [d for topic, name, d in sent if name == "achievement.unlocked" and topic == f"user:{author.id}"]
    assert [d["code"] for d in unlocked] == ["posts_10"]
    mine = make_client(author).get(f"/api/users/{author.id}/achievements?limit=100").json()["data"]
    posts_10 = next(r for r in mine if r["achievement"]["code"] == "posts_10")
    assert posts_10["unlocked"] is True and posts_10["progress"] == {"current": 10, "target": 10}


def test_streak_unlocks_on_the_seventh_day():
    user = UserFactory()
    start = timezone.now() - dt.timedelta(days=10)
    for d in range(6):
        services.record_visit(user_id=user.id, now=start + dt.timedelta(days=d))
        services.record_visit(user_id=user.id, now=start + dt.timedelta(days=d, hours=1))  # same day: no-op
    services.check_achievements(user_id=user.id)
    assert "streak_7" not in codes(user)
    assert services.record_visit(user_id=user.id, now=start + dt.timedelta(days=6)) == 7
    services.check_achievements(user_id=user.id)
    assert "streak_7" in codes(user)
    assert PointTransaction.objects.filter(user=user, activity="daily_visit").count() == 7
    assert PointTransaction.objects.filter(user=user, activity="visit_streak").count() == 1
    # A gap resets the current streak but not the longest.
    assert services.record_visit(user_id=user.id, now=start + dt.timedelta(days=9)) == 1
    stats = UserStats.objects.get(user=user)
    assert (stats.current_streak, stats.longest_streak) == (1, 7)


def test_level_achievement_on_level_up(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.award_points(
            user_id=user.id, activity="achievement_unlocked", amount=800, idempotency_key="big", apply_caps=False
        )
    user.profile.refresh_from_db()
    assert user.profile.level == 5
    assert "level_5" in codes(user)


def test_standing_achievement_for_last_weeks_top_ten():
    users = UserFactory.create_batch(12)
    last_week = timezone.now() - dt.timedelta(days=7)
    for i, u in enumerate(users):
        services.award_points(
            user_id=u.id, activity="comment_created", amount=i + 1, idempotency_key=f"w{i}", now=last_week
        )
    jobs.grant_standing_achievements()
    winners = {u.id for u in users if "weekly_top10" in codes(u)}
    assert winners == {u.id for u in users[2:]}
    assert jobs.grant_standing_achievements() == 0  # once


def test_backfill_grants_new_definitions_once():
    author = UserFactory()
    for i in range(3):
        post(author, i)
    AchievementFactory(code="three_posts", criteria={"stat": "posts_created", "target": 3}, bonus_points=7)
    AchievementFactory(code="four_posts", criteria={"stat": "posts_created", "target": 4})
    catalogue.clear()
    call_command("backfill_achievements")
    call_command("backfill_achievements", "--code", "three_posts")
    assert "three_posts" in codes(author) and "four_posts" not in codes(author)
    assert (
        PointTransaction.objects.filter(user=author, idempotency_key=f"achievement:three_posts:{author.id}").count()
        == 1
    )


def test_backfill_event_and_standing_from_history():
    user = UserFactory()
    services.award_points(user_id=user.id, activity="wallet_verified", idempotency_key="w")
    long_ago = timezone.now() - dt.timedelta(days=30)
    services.award_points(user_id=user.id, activity="comment_created", idempotency_key="c", now=long_ago)
    assert not codes(user)
    jobs.backfill_achievements()
    assert {"wallet_verified", "weekly_top10"} <= codes(user)
    assert period_start("week", long_ago) < period_start("week", timezone.now())


def test_others_see_only_unlocked_without_progress(make_client, api_client):
    owner, other = UserFactory(), UserFactory()
    post(owner, 1)
    theirs = make_client(other).get(f"/api/users/{owner.id}/achievements").json()
    assert [r["achievement"]["code"] for r in theirs["data"]] == ["first_post"]
    assert all(r["progress"] is None for r in theirs["data"])
    assert api_client.get(f"/api/users/{owner.id}/achievements").status_code == 200
    assert api_client.get("/api/users/999999/achievements").status_code == 404


def test_hidden_profile_is_not_found_to_others(make_client):
    owner = UserFactory()
    owner.profile.visibility = "nobody"
    owner.profile.save()
    assert make_client(UserFactory()).get(f"/api/users/{owner.id}/achievements").status_code == 404
    assert make_client(UserFactory()).get(f"/api/users/{owner.id}/points").status_code == 404
    assert make_client(owner).get(f"/api/users/{owner.id}/achievements").status_code == 200


def test_secret_achievements_are_masked_until_unlocked(make_client, api_client):
    user = UserFactory()
    rows = api_client.get("/api/achievements").json()["data"]
    whale = next(r for r in rows if r["secret"] and r["tier"] == "gold")
    assert whale["code"] is None and whale["name"] == "Secret achievement"
    dispatch_tier(user)
    rows = make_client(user).get("/api/achievements").json()["data"]
    assert any(r["code"] == "whale" and r["name"] == "Whale" for r in rows)


def dispatch_tier(user):
    from apps.wallet.events import HolderTierChanged

    dispatch(HolderTierChanged(user_id=user.id, old_tier="none", new_tier="whale"))
