"""Own rank from the database through the score histograms (leaderboard_score_counts/deltas):
every rank, total and `around=me` page against a brute-force computation from the ledger, after
awards, reversals, compaction, a deleted user and a rebuild."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.gamification import jobs, selectors, services
from apps.gamification.models import LeaderboardEntry, LeaderboardScoreCount, LeaderboardScoreDelta
from apps.gamification.periods import period_start
from tests.factories import UserFactory
from tests.gamification.test_leaderboard import _forum_categories_1_and_2, boards_to_check, brute_force, make_history

pytestmark = pytest.mark.django_db
__all__ = ["_forum_categories_1_and_2"]  # the autouse fixture creating categories 1 and 2


def bucket(points: int) -> int:
    """The buckets' definition, independently of the SQL function."""
    width = 10 ** max(len(str(points)) - 3, 0)
    return points - points % width


def sql_bucket(points: int) -> tuple[int, int]:
    with connection.cursor() as cur:
        cur.execute("SELECT leaderboard_score_bucket(%s), leaderboard_score_bucket_end(%s)", [points, points])
        return cur.fetchone()


def counts_from_standings() -> Counter:
    """What the histogram must say: standings with points, per board and bucket."""
    found = Counter()
    for period, start, cat, points in LeaderboardEntry.objects.filter(points__gt=0).values_list(
        "period", "period_start", "category_id", "points"
    ):
        found[(period, start, cat, bucket(points))] += 1
    return found


def histogram() -> Counter:
    """Compacted counts plus pending deltas, zero buckets left out."""
    found = Counter()
    for model, field in ((LeaderboardScoreCount, "users"), (LeaderboardScoreDelta, "delta")):
        for period, start, cat, b, n in model.objects.values_list(
            "period", "period_start", "category_id", "bucket", field
        ):
            found[(period, start, cat, b)] += n
    return Counter({k: v for k, v in found.items() if v})


def assert_ranks_exact(now: dt.datetime, limits=(5, 4)) -> int:
    """Every standing's rank, every board's total and around-me page against the brute force."""
    checked = 0
    seen = set()
    for period, day, category in boards_to_check(now):
        start = period_start(period, day)
        if (period, start, category) in seen:
            continue
        seen.add((period, start, category))
        expected = brute_force(period, start, category)
        board = dict(period=period, start=start, category_id=category)
        assert selectors.db_total(**board) == len(expected), (period, start, category)
        for rank, (uid, pts) in enumerate(expected, start=1):
            total, found = selectors.db_standing(**board, user_id=uid)
            assert total == len(expected)
            assert found is not None and found[:2] == (rank, pts), (period, start, category, uid)
            for limit in limits:
                around = selectors.leaderboard_around(**board, user_id=uid, limit=limit, use_redis=False)
                first = max(0, rank - 1 - limit // 2)
                want = [(first + i + 1, u, p) for i, (u, p) in enumerate(expected[first : first + limit])]
                assert [(r, u["id"], p) for r, u, p in around.rows] == want, (period, start, category, uid, limit)
                assert around.me == {"rank": rank, "points": pts} and around.total == len(expected)
            checked += 1
    return checked


def test_bucket_function_matches_its_definition():
    for points in [1, 9, 10, 99, 100, 999, 1000, 1009, 1010, 1999, 9990, 9999, 10_000, 10_050, 123_456, 10**12 + 7]:
        b, end = sql_bucket(points)
        assert b == bucket(points) and b <= points < end
        assert bucket(end) == end and bucket(end - 1) == b  # buckets tile the scores


def test_every_rank_matches_brute_force_after_awards_and_reversals():
    _, now = make_history(seed=21, users=14, events=200)
    assert histogram() == counts_from_standings()
    assert LeaderboardScoreDelta.objects.exists()  # nothing compacted yet: the readers sum the deltas
    assert assert_ranks_exact(now) > 100
    assert jobs.compact_leaderboard_counts() > 0
    assert not LeaderboardScoreDelta.objects.exists()
    assert not LeaderboardScoreCount.objects.filter(users__lte=0).exists()
    assert histogram() == counts_from_standings()
    assert assert_ranks_exact(now) > 100
    assert jobs.compact_leaderboard_counts() == 0  # nothing left to fold


def test_ranks_inside_and_across_wide_buckets():
    """Scores of 1,000 and more share buckets (1000-1009, 12300-12399, ...): ranks inside a bucket
    come from the standings themselves, ties to whoever got there first."""
    rng = random.Random(4)
    people = UserFactory.create_batch(16)
    now = timezone.now().replace(microsecond=0)
    targets = [995, 999, 1000, 1003, 1003, 1009, 1010, 1010, 12_345, 12_399, 12_300, 12_400, 5, 1003, 1009, 99_999]
    awards = []
    for i, (user, target) in enumerate(zip(people, targets, strict=True)):
        when = now - dt.timedelta(seconds=rng.choice([0, 0, 1, 7]))
        txn = services.award_points(
            user_id=user.id,
            activity="post_created",
            amount=target,
            apply_caps=False,
            idempotency_key=f"w{i}",
            category_id=1 if i % 2 else None,
            now=when,
        )
        awards.append(txn)
    assert assert_ranks_exact(now, limits=(5,)) == 16 * 4 + 8 * 4
    jobs.compact_leaderboard_counts()
    # Move users across bucket edges both ways, with a reversal and a fresh award.
    services.reverse_transaction(transaction_id=awards[6].id, now=now)  # 1010 -> gone
    services.award_points(
        user_id=people[1].id, activity="post_created", amount=1, apply_caps=False, idempotency_key="x1", now=now
    )  # 999 -> 1000
    services.award_points(
        user_id=people[9].id, activity="post_created", amount=11_335, apply_caps=False, idempotency_key="x2", now=now
    )  # 1010 -> 12345, tied with people[8] on points
    assert histogram() == counts_from_standings()
    assert assert_ranks_exact(now, limits=(5, 2)) > 50


def test_standings_deleted_outside_the_award_path_leave_the_counts():
    _, now = make_history(seed=8, users=10, events=120)
    jobs.compact_leaderboard_counts()
    leader = brute_force("all", period_start("all", now), 0)[0][0]
    # As a cascade from the user would (the statement trigger counts any write to the table).
    LeaderboardEntry.objects.filter(user_id=leader).delete()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM point_transactions WHERE user_id = %s AND reverses_id IS NOT NULL", [leader])
        cur.execute("DELETE FROM point_transactions WHERE user_id = %s", [leader])
    assert histogram() == counts_from_standings()
    assert assert_ranks_exact(now, limits=(3,)) > 30


def test_rebuild_recomputes_the_counts():
    _, now = make_history(seed=9, users=10, events=120)
    LeaderboardScoreCount.objects.all().delete()  # damage the histogram: the rebuild restores it
    call_command("rebuild_leaderboards")
    assert not LeaderboardScoreDelta.objects.exists()
    assert histogram() == counts_from_standings()
    assert assert_ranks_exact(now, limits=(3,)) > 30
    u = UserFactory()
    services.award_points(user_id=u.id, activity="post_created", idempotency_key="after")  # triggers still on
    assert histogram() == counts_from_standings()


def test_around_me_api_from_the_database(make_client, django_assert_max_num_queries):
    people, now = make_history(seed=2, users=12, events=150)
    expected = brute_force("month", period_start("month", now), 0)
    uid, pts = expected[len(expected) // 2]
    me = next(p for p in people if p.id == uid)
    client = make_client(me)
    with django_assert_max_num_queries(6):  # auth user, rank+total, neighbours, public users (+ category)
        body = client.get("/api/leaderboard?period=month&around=me&limit=3").json()
    rank = len(expected) // 2 + 1
    assert body["meta"]["me"] == {"rank": rank, "points": pts}
    assert body["meta"]["pagination"]["total"] == len(expected)
    assert body["meta"]["leaderboard"]["source"] == "database"
    assert [(r["rank"], r["user"]["id"], r["points"]) for r in body["data"]] == [
        (rank - 1 + i, u, p) for i, (u, p) in enumerate(expected[rank - 2 : rank + 1])
    ]


def test_around_me_falls_back_to_the_histograms_while_redis_is_not_ready(lb_redis, make_client):
    people, now = make_history(seed=6, users=10, events=100)
    expected = brute_force("week", period_start("week", now), 0)
    uid, pts = expected[-1]
    client = make_client(next(p for p in people if p.id == uid))
    body = client.get("/api/leaderboard?period=week&around=me&limit=3").json()
    assert body["meta"]["leaderboard"]["source"] == "database"  # no ready set: the histograms answer
    assert body["meta"]["me"] == {"rank": len(expected), "points": pts}
    assert [r["user"]["id"] for r in body["data"]] == [u for u, _ in expected[-2:]]
    # The miss queued a rebuild of that board (eager in tests): Redis answers the same next time.
    again = client.get("/api/leaderboard?period=week&around=me&limit=3").json()
    assert again["meta"]["leaderboard"]["source"] == "redis"
    assert again["meta"]["me"] == body["meta"]["me"] and again["data"] == body["data"]
