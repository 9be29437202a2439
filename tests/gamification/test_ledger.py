"""The ledger: exactly-once awards, caps, reversals, profile balance and level in one transaction."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from apps.core import push, rls
from apps.core.events import DomainEvent, subscribe, unsubscribe
from apps.gamification import services
from apps.gamification.events import LevelUp, PointsAwarded
from apps.gamification.models import LeaderboardEntry, PointTransaction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def points_of(user) -> int:
    user.profile.refresh_from_db()
    return user.profile.points


def test_award_writes_ledger_profile_and_standings():
    from apps.forum.models import Category

    Category.objects.create(pk=7, name="Seven", slug="seven")  # public: counts on the global board too
    user = UserFactory()
    txn = services.award_points(user_id=user.id, activity="post_created", idempotency_key="k1", category_id=7)
    assert txn.amount == 10 and txn.kind == "award"
    assert points_of(user) == 10
    boards = set(LeaderboardEntry.objects.filter(user=user).values_list("period", "category_id", "points"))
    assert boards == {(p, c, 10) for p in ("day", "week", "month", "all") for c in (0, 7)}


def test_same_key_twice_awards_once():
    user = UserFactory()
    assert services.award_points(user_id=user.id, activity="post_created", idempotency_key="same") is not None
    assert services.award_points(user_id=user.id, activity="post_created", idempotency_key="same") is None
    assert PointTransaction.objects.filter(user=user).count() == 1
    assert points_of(user) == 10


def test_unknown_activity_awards_nothing():
    user = UserFactory()
    assert services.award_points(user_id=user.id, activity="nope", idempotency_key="x") is None
    assert points_of(user) == 0


def test_per_activity_daily_cap_and_next_day_reset():
    user = UserFactory()
    now = timezone.now().replace(hour=10)
    for i in range(7):  # 10 points each, capped at 50 a day
        services.award_points(user_id=user.id, activity="post_created", idempotency_key=f"p{i}", now=now)
    assert points_of(user) == 50
    assert PointTransaction.objects.filter(user=user).count() == 5
    services.award_points(
        user_id=user.id, activity="post_created", idempotency_key="p-next", now=now + dt.timedelta(days=1)
    )
    assert points_of(user) == 60


def test_cap_trims_the_last_award_to_what_is_left():
    user = UserFactory()
    services.award_points(user_id=user.id, activity="post_created", idempotency_key="a", amount=45)
    txn = services.award_points(user_id=user.id, activity="post_created", idempotency_key="b")
    assert txn.amount == 5


def test_overall_daily_cap(settings):
    settings.GAMIFICATION_DAILY_CAP = 12
    user = UserFactory()
    services.award_points(user_id=user.id, activity="post_created", idempotency_key="a")
    services.award_points(user_id=user.id, activity="comment_created", idempotency_key="b")
    services.award_points(user_id=user.id, activity="comment_created", idempotency_key="c")
    assert points_of(user) == 12
    # Bonus activities are outside the overall cap.
    services.award_points(user_id=user.id, activity="wallet_verified", idempotency_key="w")
    assert points_of(user) == 62


def test_reversal_appends_never_edits_and_happens_once():
    user = UserFactory()
    txn = services.award_points(user_id=user.id, activity="post_created", idempotency_key="a", category_id=3)
    rev = services.reverse_transaction(transaction_id=txn.id, reason="test")
    assert rev.amount == -10 and rev.kind == "reversal" and rev.reverses_id == txn.id
    assert services.reverse_transaction(transaction_id=txn.id) is None
    assert services.reverse_transaction(transaction_id=rev.id) is None  # reversals are not reversible
    txn.refresh_from_db()
    assert txn.amount == 10
    assert points_of(user) == 0
    assert set(LeaderboardEntry.objects.filter(user=user).values_list("points", flat=True)) == {0}


def test_reversal_frees_the_daily_cap():
    user = UserFactory()
    first = None
    for i in range(5):
        t = services.award_points(user_id=user.id, activity="post_created", idempotency_key=f"p{i}")
        first = first or t
    services.reverse_transaction(transaction_id=first.id)
    assert services.award_points(user_id=user.id, activity="post_created", idempotency_key="p5").amount == 10


def test_level_follows_points_and_level_up_is_emitted(django_capture_on_commit_callbacks, monkeypatch):
    user = UserFactory()
    got: list[DomainEvent] = []
    sent = []
    monkeypatch.setattr(push, "broadcast_now", lambda *a, **_: sent.append(a))
    subscribe(LevelUp, got.append)
    subscribe(PointsAwarded, got.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.award_points(user_id=user.id, activity="wallet_verified", idempotency_key="w", amount=50)
    finally:
        unsubscribe(LevelUp, got.append)
        unsubscribe(PointsAwarded, got.append)
    user.profile.refresh_from_db()
    assert user.profile.level == 2  # 50 points = level 2 (50·(n−1)²)
    assert LevelUp(user_id=user.id, old_level=1, new_level=2) in got
    assert any(isinstance(e, PointsAwarded) and e.amount == 50 for e in got)
    events = [(topic, name) for topic, name, _ in sent]
    assert (f"user:{user.id}", "points.awarded") in events
    assert (f"user:{user.id}", "level.up") in events
    assert ("leaderboard", "leaderboard.changed") in events


def test_leaderboard_changed_is_throttled(django_capture_on_commit_callbacks, monkeypatch):
    user = UserFactory()
    sent = []
    monkeypatch.setattr(push, "broadcast_now", lambda *a, **_: sent.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            services.award_points(user_id=user.id, activity="comment_created", idempotency_key=f"c{i}")
    assert [name for _, name, _ in sent].count("leaderboard.changed") == 1
    assert [name for _, name, _ in sent].count("points.awarded") == 3


def test_award_costs_a_few_short_queries(django_assert_max_num_queries):
    user = UserFactory()
    services.award_points(user_id=user.id, activity="comment_created", idempotency_key="warm")
    with django_assert_max_num_queries(8):  # 7 + the outbox row of the event it emits
        services.award_points(user_id=user.id, activity="comment_created", idempotency_key="c", category_id=2)


def _in_thread(fn, barrier):
    def run():
        try:
            barrier.wait()
            # Awards come from event receivers and Celery jobs: the RLS system context.
            with rls.system_context("test:worker"):
                fn()
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_two_workers_same_award_at_once():
    from apps.gamification import seed

    seed.load_all()
    user = UserFactory()
    barrier = threading.Barrier(2)
    threads = [
        _in_thread(
            lambda: services.award_points(user_id=user.id, activity="post_created", idempotency_key="dup"), barrier
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert PointTransaction.objects.filter(user=user).count() == 1
    assert points_of(user) == 10
    assert LeaderboardEntry.objects.get(user=user, period="all", category_id=0).points == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_awards_respect_the_cap():
    from apps.gamification import seed

    seed.load_all()
    user = UserFactory()
    barrier = threading.Barrier(8)
    threads = [
        _in_thread(
            lambda i=i: services.award_points(user_id=user.id, activity="post_created", idempotency_key=f"p{i}"),
            barrier,
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert points_of(user) == 50
    assert sum(PointTransaction.objects.filter(user=user).values_list("amount", flat=True)) == 50
    assert connection.vendor == "postgresql"
