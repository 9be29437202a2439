"""Leaderboards against a brute-force computation from the ledger, with and without Redis, and
after Redis is lost."""

import datetime as dt
import random
from collections import defaultdict

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from apps.gamification import redis_store, services
from apps.gamification.models import LeaderboardEntry, PointTransaction
from apps.gamification.periods import period_start
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACTIVITIES = ["post_created", "comment_created", "post_upvoted", "comment_upvoted", "wallet_verified"]


@pytest.fixture(autouse=True)
def _forum_categories_1_and_2(db):
    """The boards below use category ids 1 and 2; with the forum installed they must exist."""
    from django.db import connection

    from apps.forum.models import Category

    for pk in (1, 2):
        Category.objects.get_or_create(pk=pk, defaults={"name": f"Board {pk}", "slug": f"board-{pk}"})
    with connection.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('categories', 'id'), (SELECT MAX(id) FROM categories))")


def brute_force(period: str, start: dt.date, category_id: int) -> list[tuple[int, int]]:
    """(user_id, points) in rank order, straight from point_transactions."""
    totals: dict[int, int] = defaultdict(int)
    reached: dict[int, dt.datetime] = {}
    for t in PointTransaction.objects.all():
        if period_start(period, t.earned_at) != start:
            continue
        if category_id and t.category_id != category_id:
            continue
        totals[t.user_id] += t.amount
        second = t.created_at.replace(microsecond=0)
        reached[t.user_id] = max(reached.get(t.user_id, second), second)
    ranked = sorted((u for u in totals if totals[u] > 0), key=lambda u: (-totals[u], reached[u], u))
    return [(u, totals[u]) for u in ranked]


def make_history(seed: int = 7, users: int = 12, events: int = 160) -> tuple[list, dt.datetime]:
    rng = random.Random(seed)
    people = UserFactory.create_batch(users)
    now = timezone.now().replace(microsecond=0)
    awards = []
    for i in range(events):
        # Spread over ~40 days, and whole seconds often collide so that ties happen.
        when = now - dt.timedelta(days=rng.randint(0, 40), seconds=rng.choice([0, 0, 5, 30, 3600]))
        user = rng.choice(people)
        txn = services.award_points(
            user_id=user.id,
            activity=rng.choice(ACTIVITIES),
            idempotency_key=f"h{i}",
            category_id=rng.choice([None, 1, 2]),
            now=when,
        )
        if txn:
            awards.append(txn)
    for txn in rng.sample(awards, 15):
        services.reverse_transaction(transaction_id=txn.id, now=txn.created_at + dt.timedelta(hours=rng.randint(1, 50)))
    return people, now


def api_board(client, period, date, category=None, limit=100):
    url = f"/api/leaderboard?period={period}&date={date.isoformat()}&limit={limit}"
    if category:
        url += f"&category={category}"
    body = client.get(url).json()
    assert "data" in body, (url, body)
    return [(row["user"]["id"], row["points"]) for row in body["data"]], body["meta"]


def boards_to_check(now):
    for period in ("day", "week", "month", "all"):
        for offset in (0, 3, 9, 33):
            day = (now - dt.timedelta(days=offset)).date()
            for category in (0, 1, 2):
                yield period, day, category


def test_database_boards_match_brute_force(api_client):
    _, now = make_history()
    checked = 0
    for period, day, category in boards_to_check(now):
        expected = brute_force(period, period_start(period, day), category)
        got, meta = api_board(api_client, period, day, category or None)
        assert got == expected, (period, day, category)
        assert meta["pagination"]["total"] == len(expected)
        assert meta["leaderboard"]["source"] == "database"
        checked += bool(expected)
    assert checked > 20


def test_rebuild_table_from_ledger_matches_incremental():
    make_history(seed=3)
    before = set(
        LeaderboardEntry.objects.filter(points__gt=0).values_list(
            "period", "period_start", "category_id", "user_id", "points", "reached_at"
        )
    )
    call_command("rebuild_leaderboards")
    after = set(
        LeaderboardEntry.objects.filter(points__gt=0).values_list(
            "period", "period_start", "category_id", "user_id", "points", "reached_at"
        )
    )
    assert before == after and len(after) > 50


def test_ties_go_to_who_got_there_first(api_client):
    a, b, c = UserFactory.create_batch(3)
    t0 = timezone.now().replace(microsecond=0)
    services.award_points(user_id=b.id, activity="comment_created", idempotency_key="b", now=t0)
    services.award_points(
        user_id=a.id, activity="comment_created", idempotency_key="a", now=t0 + dt.timedelta(seconds=2)
    )
    services.award_points(user_id=c.id, activity="post_created", idempotency_key="c", now=t0 + dt.timedelta(seconds=9))
    got, _ = api_board(api_client, "day", t0.date())
    assert got == [(c.id, 10), (b.id, 2), (a.id, 2)]


def test_pages_and_around_me(make_client):
    users = UserFactory.create_batch(9)
    now = timezone.now()
    for i, u in enumerate(users):  # user i has i+1 comments = 2(i+1) points
        for j in range(i + 1):
            services.award_points(user_id=u.id, activity="comment_created", idempotency_key=f"{i}-{j}", now=now)
    client = make_client(users[4])  # 10 points, rank 5 of 9
    page2 = client.get("/api/leaderboard?period=all&limit=3&page=2").json()
    assert [r["rank"] for r in page2["data"]] == [4, 5, 6]
    assert page2["meta"]["pagination"] == {"page": 2, "limit": 3, "total": 9}
    around = client.get("/api/leaderboard?period=all&around=me&limit=5").json()
    assert [r["rank"] for r in around["data"]] == [3, 4, 5, 6, 7]
    assert around["meta"]["me"] == {"rank": 5, "points": 10}
    assert around["data"][2]["user"]["id"] == users[4].id
    top = make_client(users[8]).get("/api/leaderboard?period=all&around=me&limit=4").json()
    assert [r["rank"] for r in top["data"]] == [1, 2, 3, 4]
    nobody = make_client(UserFactory()).get("/api/leaderboard?period=all&around=me").json()
    assert nobody["data"] == [] and nobody["meta"]["me"] is None


def test_bad_input(api_client):
    r = api_client.get("/api/leaderboard?period=decade")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert "period" in r.json()["error"]["details"]
    r = api_client.get("/api/leaderboard?category=no-such-category")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api_client.get("/api/leaderboard?around=me").status_code == 401
    assert api_client.get("/api/leaderboard?around=you").status_code == 400
    assert api_client.get("/api/leaderboard?date=yesterday").status_code == 400
    assert api_client.get("/api/leaderboard?page=0").status_code == 400


def test_category_slug_resolves_through_the_forum_when_present(api_client, monkeypatch):
    from apps.gamification import selectors

    monkeypatch.setattr(selectors, "resolve_category", lambda raw, viewer=None: {"memes": 2}.get(raw, 0))
    u = UserFactory()
    services.award_points(user_id=u.id, activity="post_created", idempotency_key="x", category_id=2)
    got, meta = api_board(api_client, "all", timezone.now().date(), "memes")
    assert got == [(u.id, 10)] and meta["leaderboard"]["category_id"] == 2


def test_leaderboard_query_count(api_client, django_assert_max_num_queries):
    make_history(seed=1, users=30, events=120)
    with django_assert_max_num_queries(4):
        r = api_client.get("/api/leaderboard?period=all&limit=100")
    assert r.status_code == 200 and len(r.json()["data"]) > 10


# --- Redis -----------------------------------------------------------------------------------


def test_redis_boards_match_brute_force_with_incremental_updates(
    lb_redis, api_client, django_capture_on_commit_callbacks
):
    now = timezone.now()
    # Mark today's (empty) boards ready, then let every award update them incrementally.
    services.rebuild_redis_leaderboards(now=now)
    for cat in (1, 2):
        for period in ("day", "week", "month", "all"):
            services.rebuild_redis_board(period=period, start=period_start(period, now), category_id=cat)
    with django_capture_on_commit_callbacks(execute=True):
        make_history(seed=11, events=120)
    for period in ("day", "week", "month", "all"):
        for category in (0, 1, 2):
            expected = brute_force(period, period_start(period, now), category)
            got, meta = api_board(api_client, period, now.date(), category or None)
            assert meta["leaderboard"]["source"] == "redis"
            assert got == expected, (period, category)
            assert meta["pagination"]["total"] == len(expected)


def test_redis_lost_database_answers_then_rebuild(lb_redis, api_client, make_client, settings):
    people, now = make_history(seed=5)
    call_command("rebuild_leaderboards")
    day = now.date()
    expected = brute_force("month", period_start("month", day), 0)
    got, meta = api_board(api_client, "month", day)
    assert meta["leaderboard"]["source"] == "redis" and got == expected

    for key in lb_redis.scan_iter(f"{settings.GAMIFICATION_REDIS_PREFIX}:*"):
        lb_redis.delete(key)  # Redis lost
    cache.clear()  # with Redis the rendered-page cache lives there too (here it is in memory)
    assert not redis_store.is_ready("month", period_start("month", day), 0)
    got, meta = api_board(api_client, "month", day)
    assert meta["leaderboard"]["source"] == "database" and got == expected
    # The miss queued a rebuild of that board (eager here): the next read is from Redis again.
    got, meta = api_board(api_client, "month", day)
    assert meta["leaderboard"]["source"] == "redis" and got == expected

    for key in lb_redis.scan_iter(f"{settings.GAMIFICATION_REDIS_PREFIX}:*"):
        lb_redis.delete(key)
    cache.clear()
    call_command("rebuild_leaderboards", "--redis-only")
    for period in ("day", "week", "month", "all"):
        got, meta = api_board(api_client, period, day)
        assert meta["leaderboard"]["source"] == "redis"
        assert got == brute_force(period, period_start(period, day), 0)
    outsider = make_client(UserFactory()).get("/api/leaderboard?period=month&around=me").json()
    assert outsider["data"] == [] and outsider["meta"]["me"] is None  # not the whole set
    assert outsider["meta"]["pagination"]["total"] == len(expected)
    me = expected[len(expected) // 2][0]
    around = make_client(next(p for p in people if p.id == me)).get("/api/leaderboard?period=month&around=me").json()
    assert around["meta"]["me"]["rank"] == len(expected) // 2 + 1


def test_redis_down_degrades_to_database(api_client, settings):
    settings.GAMIFICATION_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    u = UserFactory()
    services.award_points(user_id=u.id, activity="post_created", idempotency_key="x")
    got, meta = api_board(api_client, "all", timezone.now().date())
    assert got == [(u.id, 10)] and meta["leaderboard"]["source"] == "database"


def test_a_cached_page_is_served_until_the_next_award(
    api_client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from apps.gamification import services
    from tests.factories import UserFactory

    a, b = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.award_points(user_id=a.id, activity="post_created", idempotency_key="c1")
    first = api_client.get("/api/leaderboard?period=all").json()
    with django_assert_max_num_queries(0):  # served from the page cache
        assert api_client.get("/api/leaderboard?period=all").json() == first
    with django_capture_on_commit_callbacks(execute=True):  # the version bump runs after commit
        services.award_points(user_id=b.id, activity="post_created", idempotency_key="c2")
        services.award_points(user_id=b.id, activity="comment_created", idempotency_key="c3")
    fresh = api_client.get("/api/leaderboard?period=all").json()
    assert [row["user"]["id"] for row in fresh["data"]] == [b.id, a.id]


def test_a_lost_page_version_never_serves_an_older_page(api_client, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from apps.gamification import page_cache, services
    from tests.factories import UserFactory

    def board_ids():
        return [row["user"]["id"] for row in api_client.get("/api/leaderboard?period=all").json()["data"]]

    a = UserFactory()
    assert board_ids() == []  # cached at the first version
    with django_capture_on_commit_callbacks(execute=True):
        services.award_points(user_id=a.id, activity="post_created", idempotency_key="v1")
    assert board_ids() == [a.id]  # cached at the next version
    cache.delete(page_cache.VERSION_KEY)  # evicted, or Redis restarted without it
    assert board_ids() == [a.id]  # not the first page back from the dead
