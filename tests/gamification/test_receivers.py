"""Reactions to forum, wallet and market events, delivered the way apps.core.events delivers them."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.events import DomainEvent, dispatch, subscribe, unsubscribe
from apps.forum.events import CommentCreated, CommentDeleted, PostCreated, PostDeleted, VoteChanged
from apps.gamification.events import AchievementUnlocked
from apps.gamification.models import ActivityLog, PointTransaction, UserAchievement, UserStats, VoteCredit
from apps.market.events import MilestoneReached
from apps.wallet.events import HolderTierChanged, WalletVerified
from tests.factories import UserFactory
from tests.gamification.factories import VeteranFactory

pytestmark = pytest.mark.django_db


def points_of(user) -> int:
    user.profile.refresh_from_db()
    return user.profile.points


def ledger(user, activity=None):
    qs = PointTransaction.objects.filter(user=user)
    if activity:
        qs = qs.filter(activity=activity)
    return list(qs.order_by("id").values_list("activity", "amount"))


def vote(target_id, author, voter, new, old=0, target_type="post", category_id=1):
    dispatch(
        VoteChanged(
            target_type=target_type,
            target_id=target_id,
            target_author_id=author.id,
            voter_id=voter.id,
            old_value=old,
            new_value=new,
            post_id=target_id,
            category_id=category_id,
        )
    )


def test_post_created_twice_counts_once():
    author = UserFactory()
    event = PostCreated(post_id=1, author_id=author.id, category_id=4)
    dispatch(event)
    dispatch(event)
    assert sorted(ledger(author)) == [
        ("achievement_unlocked", 5),  # the first_post achievement's bonus
        ("daily_visit", 1),
        ("first_post_of_day", 5),
        ("post_created", 10),
    ]
    assert UserStats.objects.get(user=author).posts_created == 1
    assert UserAchievement.objects.filter(user=author, achievement__code="first_post").count() == 1
    assert points_of(author) == 21
    assert PointTransaction.objects.get(user=author, activity="post_created").category_id == 4


def test_first_post_of_day_only_once_a_day():
    author = UserFactory()
    dispatch(PostCreated(post_id=1, author_id=author.id, category_id=1))
    dispatch(PostCreated(post_id=2, author_id=author.id, category_id=1))
    assert len(ledger(author, "first_post_of_day")) == 1
    assert len(ledger(author, "post_created")) == 2


def test_comment_created_and_deleted():
    author = UserFactory()
    dispatch(CommentCreated(comment_id=9, post_id=1, author_id=author.id, category_id=2))
    assert ledger(author, "comment_created") == [("comment_created", 2)]
    dispatch(CommentDeleted(comment_id=9, post_id=1, author_id=author.id, by_moderator=True))
    dispatch(CommentDeleted(comment_id=9, post_id=1, author_id=author.id, by_moderator=True))
    assert ledger(author, "comment_created") == [("comment_created", 2), ("comment_created", -2)]
    assert UserStats.objects.get(user=author).comments_created == 1


def test_removed_post_reverses_its_points_including_votes():
    author, voter = UserFactory(), VeteranFactory()
    dispatch(PostCreated(post_id=5, author_id=author.id, category_id=1))
    vote(5, author, voter, 1)
    before = points_of(author)
    dispatch(PostDeleted(post_id=5, author_id=author.id))
    after = points_of(author)
    # post_created 10, first_post_of_day 5, post_upvoted 5 are reversed; the daily visit and the
    # achievement bonus are not about the post.
    assert before - after == 20
    reversed_activities = sorted(a for a, amt in ledger(author) if amt < 0)
    assert reversed_activities == ["first_post_of_day", "post_created", "post_upvoted"]
    # A later retraction of the vote reverses nothing more.
    vote(5, author, voter, 0, old=1)
    assert points_of(author) == after


def test_upvote_award_replay_and_retraction():
    author, voter = UserFactory(), VeteranFactory()
    vote(10, author, voter, 1)
    vote(10, author, voter, 1)  # replayed
    assert ledger(author, "post_upvoted") == [("post_upvoted", 5)]
    assert PointTransaction.objects.get(activity="post_upvoted").actor_id == voter.id
    assert UserStats.objects.get(user=author).upvotes_received == 1
    vote(10, author, voter, 0, old=1)
    vote(10, author, voter, 0, old=1)  # replayed
    assert ledger(author, "post_upvoted") == [("post_upvoted", 5), ("post_upvoted", -5)]
    assert UserStats.objects.get(user=author).upvotes_received == 0
    assert points_of(author) == 0
    vote(10, author, voter, 1)  # voting again earns again, once
    assert sum(a for _, a in ledger(author, "post_upvoted")) == 5


def test_flip_to_downvote_reverses():
    author, voter = UserFactory(), VeteranFactory()
    vote(10, author, voter, 1)
    vote(10, author, voter, -1, old=1)
    assert sum(a for _, a in ledger(author, "post_upvoted")) == 0
    assert not VoteCredit.objects.exists()


def test_comment_upvote_amount():
    author, voter = UserFactory(), VeteranFactory()
    vote(3, author, voter, 1, target_type="comment")
    assert ledger(author) == [("comment_upvoted", 2)]


def test_self_vote_earns_nothing():
    author = VeteranFactory()
    vote(10, author, author, 1)
    assert ledger(author, "post_upvoted") == []
    assert not VoteCredit.objects.exists()


def test_young_or_unverified_voter_earns_nothing_but_is_counted():
    author = UserFactory()
    young = UserFactory()  # joined just now
    unverified = VeteranFactory(email_verified=False)
    vote(10, author, young, 1)
    vote(11, author, unverified, 1)
    assert ledger(author, "post_upvoted") == []
    assert UserStats.objects.get(user=author).upvotes_received == 2


def test_unverified_voter_counts_when_verification_not_required(settings):
    settings.GAMIFICATION_REQUIRE_VERIFIED_VOTER = False
    author, unverified = UserFactory(), VeteranFactory(email_verified=False)
    vote(10, author, unverified, 1)
    assert ledger(author, "post_upvoted") == [("post_upvoted", 5)]


def test_diminishing_returns_for_the_same_voter():
    author, voter, other = UserFactory(), VeteranFactory(), VeteranFactory()
    for post_id in range(1, 8):
        vote(post_id, author, voter, 1)
    assert [a for _, a in ledger(author, "post_upvoted")] == [5, 5, 5, 2, 1]  # then nothing
    vote(100, author, other, 1)  # another voter is fresh
    assert ledger(author, "post_upvoted")[-1] == ("post_upvoted", 5)


def test_upvote_daily_cap():
    author = UserFactory()
    voters = VeteranFactory.create_batch(45)
    for i, v in enumerate(voters):
        vote(i, author, v, 1)
    assert sum(a for _, a in ledger(author, "post_upvoted")) == 200


def test_downvote_from_nothing_does_nothing():
    author, voter = UserFactory(), VeteranFactory()
    vote(10, author, voter, -1)
    assert ledger(author) == []


def test_wallet_verified_once_with_achievement():
    user = UserFactory()
    got: list[DomainEvent] = []
    subscribe(AchievementUnlocked, got.append)
    try:
        dispatch(WalletVerified(user_id=user.id, address="A"))
        dispatch(WalletVerified(user_id=user.id, address="B"))
    finally:
        unsubscribe(AchievementUnlocked, got.append)
    assert sorted(ledger(user)) == [("achievement_unlocked", 10), ("wallet_verified", 50)]
    assert UserAchievement.objects.filter(user=user, achievement__code="wallet_verified").count() == 1


def test_holder_tier_awards_each_tier_once():
    user = UserFactory()
    dispatch(HolderTierChanged(user_id=user.id, old_tier="none", new_tier="whale"))
    dispatch(HolderTierChanged(user_id=user.id, old_tier="whale", new_tier="none"))
    dispatch(HolderTierChanged(user_id=user.id, old_tier="none", new_tier="holder"))
    assert ledger(user, "holder_tier_reached") == [("holder_tier_reached", 100), ("holder_tier_reached", 100)]
    codes = set(UserAchievement.objects.filter(user=user).values_list("achievement__code", flat=True))
    assert {"holder", "whale"} <= codes


def test_milestone_witnessed_by_recently_active_users():
    active, idle = UserFactory(), UserFactory()
    dispatch(PostCreated(post_id=1, author_id=active.id, category_id=1))
    ActivityLog.objects.create(user=idle, verb="post_created", created_at=timezone.now() - dt.timedelta(days=3))
    dispatch(MilestoneReached(milestone_id=7))
    dispatch(MilestoneReached(milestone_id=7))
    assert ledger(active, "milestone_witnessed") == [("milestone_witnessed", 20)]
    assert ledger(idle) == []
    assert UserAchievement.objects.filter(user=active, achievement__code="milestone_witness").exists()
