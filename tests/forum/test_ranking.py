"""Ranking formulas (Python = SQL), the hot-rank decay job and category trending."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.forum import jobs, ranking
from apps.forum.models import Category, Post, Vote
from apps.forum.tasks import decay_hot_ranks, refresh_trending
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def sql_value(expr, params=()):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expr}", params)
        return cursor.fetchone()[0]


@pytest.mark.parametrize("score, hours", [(0, 0), (1, 0), (-1, 3), (-10, 1), (5, 12), (1000, 100), (3, -5), (10, 200)])
def test_hot_python_and_sql_agree(score, hours):
    now = timezone.now()
    created = now - timedelta(hours=hours)
    expected = ranking.hot(score, created, now)
    expr = ranking.hot_sql("%(s)s", "%(c)s::timestamptz", "%(n)s::timestamptz")
    got = sql_value(expr, {"s": score, "c": created, "n": now})
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_hot_pitfalls():
    now = timezone.now()
    assert ranking.hot(1, now, now) > ranking.hot(0, now, now) > 0  # log(1)=0 avoided
    assert ranking.hot(-5, now, now) == 0.0  # buried floors at 0
    assert ranking.hot(0, now + timedelta(days=3), now) == ranking.hot(0, now, now)  # future-dated clamps
    assert ranking.hot(100, now - timedelta(days=8), now) == 0.0  # cold
    assert ranking.hot(10, now - timedelta(hours=1), now) > ranking.hot(10, now - timedelta(hours=10), now)


@pytest.mark.parametrize("up, down", [(0, 0), (5, 0), (0, 5), (10, 10), (30, 7), (1, 1000)])
def test_controversy_and_wilson_agree(up, down):
    params = {"u": up, "d": down}
    assert sql_value(ranking.controversy_sql("%(u)s", "%(d)s"), params) == pytest.approx(ranking.controversy(up, down))
    assert sql_value(ranking.wilson_sql("%(u)s", "%(d)s"), params) == pytest.approx(ranking.wilson(up, down))


def test_wilson_prefers_evidence():
    assert ranking.wilson(10, 1) > ranking.wilson(1, 0) > ranking.wilson(0, 0) == 0
    assert ranking.controversy(50, 50) > ranking.controversy(50, 10) > ranking.controversy(50, 0) == 0


def test_decay_job_updates_warm_rows_and_skips_cold(category):
    now = timezone.now()
    warm = PostFactory(category=category, created_at=now - timedelta(hours=5), score=10, upvotes=10, hot_rank=9999)
    leaving = PostFactory(category=category, created_at=now - timedelta(days=9), hot_rank=3.0)
    cold = PostFactory(category=category, created_at=now - timedelta(days=30), hot_rank=0.0)
    Post.objects.filter(pk=cold.pk).update(updated_at=now - timedelta(days=30))
    updated = jobs.decay_hot_ranks(batch=1)  # several batches
    assert updated == 2
    warm.refresh_from_db()
    leaving.refresh_from_db()
    assert warm.hot_rank == pytest.approx(ranking.hot(10, warm.created_at), rel=1e-3)
    assert leaving.hot_rank == 0.0
    assert decay_hot_ranks.delay().get() == 1  # next run: only the warm row; the zeroed one is cold now


def test_trending_compares_recent_velocity_with_baseline():
    now = timezone.now()
    busy, quiet = CategoryFactory(slug="busy"), CategoryFactory(slug="quiet")
    busy_post = PostFactory(category=busy, created_at=now - timedelta(days=5))
    quiet_post = PostFactory(category=quiet, created_at=now - timedelta(days=5))
    for i in range(12):  # busy: many votes in the last hour
        Vote.objects.create(user=UserFactory(), post=busy_post, value=1, created_at=now - timedelta(minutes=i))
    for i in range(12):  # quiet: the same number, spread over the baseline days
        Vote.objects.create(user=UserFactory(), post=quiet_post, value=1, created_at=now - timedelta(days=1 + i % 5))
    CommentFactory(post=busy_post)
    assert refresh_trending.delay().get() >= 2
    busy.refresh_from_db()
    quiet.refresh_from_db()
    assert busy.trending_score > 5 and quiet.trending_score < 1
    assert Category.objects.get(pk=busy.pk).trending_updated_at is not None


def test_recount_all_repairs_counters(category):
    post = PostFactory(category=category)
    for _ in range(3):
        Vote.objects.create(user=UserFactory(), post=post, value=1)
    c = CommentFactory(post=post)
    Vote.objects.create(user=UserFactory(), post=post, comment=c, value=-1)
    jobs.recount_all()
    post.refresh_from_db()
    c.refresh_from_db()
    category.refresh_from_db()
    assert (post.score, post.upvotes, post.comment_count) == (3, 3, 1)
    assert (c.score, c.downvotes) == (-1, 1)
    assert (category.post_count, category.comment_count) == (1, 1)
    assert post.hot_rank == pytest.approx(ranking.hot(3, post.created_at), rel=1e-3)
