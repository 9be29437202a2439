"""Batch jobs of gamification: scans and rebuilds over whole tables, run by Celery beat
(apps.gamification.tasks) or management commands. Each is idempotent; the per-user writes they
make go through apps.gamification.services."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Profile
from apps.core import access
from apps.gamification import catalogue, page_cache, selectors, services
from apps.gamification.models import (
    ActivityLog,
    CriteriaType,
    LeaderboardEntry,
    PointTransaction,
    TransactionKind,
    UserStats,
    VoteRingReport,
)
from apps.gamification.periods import period_start

# --- vote rings, activity log ------------------------------------------------------------------


def detect_vote_rings(*, now: dt.datetime | None = None) -> list[VoteRingReport]:
    """Find groups voting for each other far above baseline in the window; reverse the vote
    points exchanged inside each group and report the group to moderators."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.GAMIFICATION_RING_WINDOW_DAYS)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT voter_id, author_id, COUNT(*) AS n, SUM(COUNT(*)) OVER (PARTITION BY voter_id) AS total"
            " FROM gamification_vote_credits WHERE created_at >= %s GROUP BY voter_id, author_id",
            [since],
        )
        rows = cur.fetchall()
    min_votes, share = settings.GAMIFICATION_RING_MIN_VOTES, settings.GAMIFICATION_RING_MIN_SHARE
    graph: dict[int, set[int]] = {}
    weights: dict[tuple[int, int], int] = {}
    for voter, author, n, total in rows:
        if n >= min_votes and n / float(total) >= share:
            graph.setdefault(voter, set()).add(author)
            weights[(voter, author)] = int(n)
    reports: list[VoteRingReport] = []
    for comp in services.strongly_connected(graph):
        if not (2 <= len(comp) <= settings.GAMIFICATION_RING_MAX_SIZE):
            continue
        members = sorted(comp)
        edges = [[v, a, weights[(v, a)]] for (v, a) in sorted(weights) if v in comp and a in comp]
        reports.append(services.penalise_ring(members=members, edges=edges, since=since, now=now))
    return reports


def prune_activity_log(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.GAMIFICATION_ACTIVITY_LOG_RETENTION_DAYS)
    deleted, _ = ActivityLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- achievements ------------------------------------------------------------------------------


def grant_standing_achievements(*, week_start: dt.date | None = None) -> int:
    """Unlock standing achievements (top N of a finished weekly board). Default: last week."""
    granted = 0
    for a in catalogue.active_achievements():
        if a.criteria_type != CriteriaType.STANDING:
            continue
        period = a.criteria.get("period", "week")
        top = int(a.criteria.get("top", 10))
        if week_start is not None:
            starts = [week_start]
        else:
            current = period_start(period, timezone.now())
            previous = period_start(period, current - dt.timedelta(days=1))
            starts = [previous]
        for start in starts:
            for user_id, _points in selectors.db_top(period=period, start=start, category_id=0, limit=top):
                granted += services.unlock_achievement(user_id=user_id, achievement=a)
    return granted


def backfill_achievements(*, codes: list[str] | None = None, batch_size: int = 1000) -> int:
    """Grant achievements retroactively (after a definition is added): state-based ones from the
    counters and profiles, event ones from the ledger, standing ones from past weekly boards."""
    catalogue.clear()
    achievements = [a for a in catalogue.active_achievements() if codes is None or a.code in codes]
    granted = 0
    state = [a for a in achievements if a.criteria_type in services.STATE_TYPES]
    if state:
        profiles = Profile.objects.values_list("user_id", "level", "holder_tier").order_by("user_id")
        for user_id, level, tier in profiles.iterator(chunk_size=batch_size):
            stats = UserStats.objects.filter(user_id=user_id).first()
            for a in state:
                if services.achievement_met(a, stats=stats, level=level, holder_tier=tier):
                    granted += services.unlock_achievement(user_id=user_id, achievement=a)
    activities = catalogue.activities()
    for a in achievements:
        if a.criteria_type == CriteriaType.EVENT:
            # An event achievement is backfilled from the ledger activity of the same name, if any.
            activity = a.criteria.get("event", "")
            if activity in activities:
                users = PointTransaction.objects.filter(activity=activity, kind=TransactionKind.AWARD)
                for uid in users.values_list("user_id", flat=True).distinct().iterator():
                    granted += services.unlock_achievement(user_id=uid, achievement=a)
        elif a.criteria_type == CriteriaType.STANDING:
            period = a.criteria.get("period", "week")
            current = period_start(period, timezone.now())
            starts = (
                LeaderboardEntry.objects.filter(period=period, category_id=0, period_start__lt=current)
                .values_list("period_start", flat=True)
                .distinct()
            )
            for start in starts:
                for uid, _ in selectors.db_top(
                    period=period, start=start, category_id=0, limit=int(a.criteria.get("top", 10))
                ):
                    granted += services.unlock_achievement(user_id=uid, achievement=a)
    return granted


# --- leaderboards --------------------------------------------------------------------------------

# Every row counts on its category's board; on the global board (0) only when it counts publicly
# (apps.core.access.counts_publicly: no category, or one in %(public)s).
REBUILD_SQL = """
INSERT INTO leaderboards (period, period_start, category_id, user_id, points, reached_at)
SELECT %(period)s, {start_expr}, c.category_id, t.user_id, SUM(t.amount),
       MAX(date_trunc('second', t.created_at))
FROM point_transactions t
CROSS JOIN LATERAL (VALUES
    (CASE WHEN t.category_id IS NULL OR t.category_id = ANY(%(public)s) THEN 0::bigint END),
    (t.category_id)
) AS c(category_id)
WHERE c.category_id IS NOT NULL
GROUP BY 2, c.category_id, t.user_id
"""
# The public standing of every profile is its all-time global board row (none: zero).
PUBLIC_STANDING_SQL = """
UPDATE profiles p SET public_points = s.points,
       public_level = COALESCE((SELECT number FROM levels WHERE min_points <= s.points
                                ORDER BY min_points DESC LIMIT 1), 1)
FROM (
    SELECT pr.user_id, COALESCE(lb.points, 0) AS points FROM profiles pr
    LEFT JOIN leaderboards lb ON lb.user_id = pr.user_id AND lb.period = 'all'
        AND lb.period_start = DATE '1970-01-01' AND lb.category_id = 0
) AS s
WHERE p.user_id = s.user_id
  AND (p.public_points, p.public_level) IS DISTINCT FROM (s.points, COALESCE(
      (SELECT number FROM levels WHERE min_points <= s.points ORDER BY min_points DESC LIMIT 1), 1))
"""
REBUILD_COUNTS_SQL = """
INSERT INTO leaderboard_score_counts (period, period_start, category_id, bucket, users)
SELECT period, period_start, category_id, leaderboard_score_bucket(points), COUNT(*)
FROM leaderboards WHERE points > 0 GROUP BY 1, 2, 3, 4
"""
START_EXPR = {
    "day": "(t.earned_at AT TIME ZONE 'UTC')::date",
    "week": "date_trunc('week', t.earned_at AT TIME ZONE 'UTC')::date",
    "month": "date_trunc('month', t.earned_at AT TIME ZONE 'UTC')::date",
    "all": "DATE '1970-01-01'",
}


@transaction.atomic
def rebuild_leaderboard_table() -> int:
    """Recompute the materialised standings and their score histogram from the ledger (the ledger
    is the truth), and every profile's public standing from the rebuilt all-time global board.
    Run after a category's read rule changes: the global board counts only the categories public
    at the time of the rebuild (apps.core.access.counts_publicly).

    Bulk load: the table's secondary indexes and unique constraint are dropped, the four periods
    inserted, then rebuilt once (inside the transaction, so a failure changes nothing). The table is
    locked meanwhile; reads wait (or are answered by Redis when it is present)."""
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending at TRUNCATE/CREATE INDEX
        cur.execute("LOCK TABLE leaderboards IN ACCESS EXCLUSIVE MODE")
        # The score histogram is counted once at the end, not by the trigger (which would collect
        # every new row of these statements first); a setting, not DISABLE TRIGGER, needs no owner.
        cur.execute("SELECT set_config('app.leaderboard_rebuild', 'on', true)")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'leaderboards'::regclass AND contype = 'u'"
        )
        uniques = cur.fetchall()
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leaderboards'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'leaderboards'::regclass)"
        )
        indexes = cur.fetchall()
        # Dropping and re-adding indexes (the fast bulk path) is DDL: only the table's owner may
        # (`DATABASE_AS_OWNER=1 manage.py rebuild_leaderboards`). The unprivileged application
        # role (row-level security) gets the same result by deleting and re-inserting.
        cur.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables WHERE tablename = 'leaderboards'"
        )
        owner = bool(cur.fetchone()[0])
        if not owner:
            uniques, indexes = [], []
        if owner:
            cur.execute("TRUNCATE leaderboards, leaderboard_score_counts, leaderboard_score_deltas")
        else:  # the histogram trigger stands aside (app.leaderboard_rebuild), so no deltas pile up
            cur.execute("DELETE FROM leaderboards")
            cur.execute("DELETE FROM leaderboard_score_counts")
            cur.execute("DELETE FROM leaderboard_score_deltas")
        for name, _ in uniques:
            cur.execute(f'ALTER TABLE leaderboards DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        total = 0
        public = sorted(access.public_category_ids())
        for period, expr in START_EXPR.items():
            cur.execute(REBUILD_SQL.format(start_expr=expr), {"period": period, "public": public})
            total += cur.rowcount
        cur.execute("SELECT set_config('app.leaderboard_rebuild', 'off', true)")
        cur.execute(REBUILD_COUNTS_SQL)
        for name, definition in uniques:
            cur.execute(f'ALTER TABLE leaderboards ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute(PUBLIC_STANDING_SQL)
    transaction.on_commit(page_cache.invalidate)
    return total


COMPACT_SQL = """
WITH moved AS (
    DELETE FROM leaderboard_score_deltas RETURNING period, period_start, category_id, bucket, delta
)
INSERT INTO leaderboard_score_counts AS c (period, period_start, category_id, bucket, users)
SELECT period, period_start, category_id, bucket, SUM(delta) FROM moved
GROUP BY 1, 2, 3, 4 HAVING SUM(delta) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (period, period_start, category_id, bucket) DO UPDATE SET users = c.users + EXCLUDED.users
RETURNING c.id, c.users
"""


@transaction.atomic
def compact_leaderboard_counts() -> int:
    """Fold the score-count deltas (appended by the `leaderboards` triggers) into the counts.

    Readers sum counts and deltas in one statement, so a rank is exact before and after; this only
    keeps the deltas few. One run at a time (others return at once). Returns the buckets changed."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(hashtext('leaderboard_score_counts'))")
        if not cur.fetchone()[0]:
            return 0
        cur.execute(COMPACT_SQL)
        folded = cur.fetchall()
        emptied = [pk for pk, users in folded if users == 0]
        if emptied:
            cur.execute("DELETE FROM leaderboard_score_counts WHERE id = ANY(%s) AND users = 0", [emptied])
    return len(folded)
