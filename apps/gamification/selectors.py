"""Gamification reads: leaderboards (Redis when ready, else PostgreSQL), points history,
achievements with progress."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet

from apps.accounts import selectors as account_selectors
from apps.accounts.models import User
from apps.core import access
from apps.core.events import dispatch
from apps.core.exceptions import NotFound, ValidationFailed
from apps.gamification import catalogue, redis_store
from apps.gamification.events import BoardNotReady
from apps.gamification.models import (
    Achievement,
    Activity,
    CriteriaType,
    LeaderboardEntry,
    Level,
    PointTransaction,
    UserAchievement,
    UserStats,
)
from apps.gamification.periods import PERIODS, normalise_period, period_start

logger = logging.getLogger(__name__)


# --- leaderboards -------------------------------------------------------------------------------


def resolve_category(raw: str | None, *, viewer) -> int:
    """`?category=` as a forum category slug (or id); 0 = global. Unknown or unreadable by the
    viewer: the same 404. Resolved from the forum's per-process category tree
    (apps.core.refcache): no query on the leaderboard's path."""
    if raw in (None, ""):
        return 0
    from apps.forum import reference

    tree = reference.categories()
    found = tree.by_id.get(int(raw)) if raw.isdigit() else tree.by_slug.get(raw)
    if found is None or found.pk not in access.readable_category_ids(viewer):
        raise NotFound("No such category.")
    return found.pk


def resolve_period(raw: str | None, date_raw: str | None = None) -> tuple[str, dt.date]:
    period = normalise_period(raw)
    if period is None:
        raise ValidationFailed(
            "period must be one of day, week, month, all.",
            details={"period": [f"Choose one of: {', '.join(PERIODS)}."]},
        )
    when: dt.date | dt.datetime
    if date_raw:
        try:
            when = dt.date.fromisoformat(date_raw)
        except ValueError:
            raise ValidationFailed("date must be YYYY-MM-DD.", details={"date": ["Use YYYY-MM-DD."]}) from None
    else:
        when = dt.datetime.now(dt.UTC)
    return period, period_start(period, when)


@dataclass
class Board:
    period: str
    start: dt.date
    category_id: int
    total: int
    rows: list[tuple[int, dict, int]]  # (rank, public user as rendered, points)
    source: str
    me: dict | None = field(default=None)


def _board_filter(period: str, start: dt.date, category_id: int) -> QuerySet[LeaderboardEntry]:
    return LeaderboardEntry.objects.filter(period=period, period_start=start, category_id=category_id, points__gt=0)


def db_top(*, period: str, start: dt.date, category_id: int, limit: int, offset: int = 0) -> list[tuple[int, int]]:
    return list(
        _board_filter(period, start, category_id)
        .order_by("-points", "reached_at", "user_id")
        .values_list("user_id", "points")[offset : offset + limit]
    )


# Ranks from the database use the score histograms (models.LeaderboardScoreCount): the users
# ahead of a standing are those in higher buckets (a sum over the board's buckets, compacted
# counts plus pending deltas, read in the same statement so it is one consistent snapshot) plus
# those ahead of it inside its own bucket (a short range of the rank index).
_BOARD = "period = %(period)s AND period_start = %(start)s AND category_id = %(category)s"
RANK_SQL = f"""
WITH counts AS (
    SELECT bucket, users AS n FROM leaderboard_score_counts WHERE {_BOARD}
    UNION ALL
    SELECT bucket, delta FROM leaderboard_score_deltas WHERE {_BOARD}
), me AS (
    SELECT points, reached_at, user_id FROM leaderboards WHERE {_BOARD} AND user_id = %(user)s AND points > 0
)
SELECT (SELECT COALESCE(SUM(n), 0) FROM counts), me.points, me.reached_at,
       (SELECT COALESCE(SUM(n), 0) FROM counts WHERE bucket > leaderboard_score_bucket(me.points))
       + (SELECT COUNT(*) FROM leaderboards o WHERE o.period = %(period)s AND o.period_start = %(start)s
          AND o.category_id = %(category)s AND o.points > 0
          AND o.points >= me.points AND o.points < leaderboard_score_bucket_end(me.points)
          AND (o.points > me.points OR (o.reached_at, o.user_id) < (me.reached_at, me.user_id)))
       + 1
FROM (SELECT 1) AS one LEFT JOIN me ON true
"""  # noqa: S608 (constants only; every value is a parameter)
TOTAL_SQL = f"""
SELECT COALESCE(SUM(n), 0) FROM (
    SELECT users AS n FROM leaderboard_score_counts WHERE {_BOARD}
    UNION ALL
    SELECT delta FROM leaderboard_score_deltas WHERE {_BOARD}
) AS counts
"""  # noqa: S608
# Neighbours by keyset from the caller's own standing (an OFFSET of rank - 5 would walk the index
# from the top): the nearest rows ahead (same score, then higher scores; the rank index read
# backwards) and the rows from the caller on (same score, then lower scores).
_ROWS = "SELECT user_id, points, reached_at FROM leaderboards WHERE " + _BOARD  # noqa: S608
NEIGHBOURS_SQL = f"""
(({_ROWS} AND points = %(points)s AND (reached_at, user_id) < (%(reached)s, %(user)s)
  ORDER BY reached_at DESC, user_id DESC LIMIT %(above)s)
 UNION ALL
 ({_ROWS} AND points > %(points)s ORDER BY points, reached_at DESC, user_id DESC LIMIT %(above)s))
UNION ALL
(({_ROWS} AND points = %(points)s AND (reached_at, user_id) >= (%(reached)s, %(user)s)
  ORDER BY reached_at, user_id LIMIT %(below)s)
 UNION ALL
 ({_ROWS} AND points < %(points)s AND points > 0 ORDER BY points DESC, reached_at, user_id LIMIT %(below)s))
"""


def _board_params(period: str, start: dt.date, category_id: int) -> dict:
    return {"period": period, "start": start, "category": category_id}


def db_standing(*, period: str, start: dt.date, category_id: int, user_id: int) -> tuple[int, tuple | None]:
    """(users on the board, (rank, points, reached_at) or None if the user has no points on it)."""
    with connection.cursor() as cur:
        cur.execute(RANK_SQL, {**_board_params(period, start, category_id), "user": user_id})
        total, points, reached_at, rank = cur.fetchone()
    return int(total), (None if points is None else (int(rank), int(points), reached_at))


def db_rank(*, period: str, start: dt.date, category_id: int, user_id: int) -> tuple[int, int] | None:
    """(rank, points) from PostgreSQL, or None if the user has no points on this board."""
    _, found = db_standing(period=period, start=start, category_id=category_id, user_id=user_id)
    return None if found is None else found[:2]


def db_total(*, period: str, start: dt.date, category_id: int) -> int:
    """Users with points on a board (a sum over its score buckets, not a count of its standings)."""
    with connection.cursor() as cur:
        cur.execute(TOTAL_SQL, _board_params(period, start, category_id))
        return int(cur.fetchone()[0])


def _rank_key(row: tuple) -> tuple:
    user_id, points, reached_at = row
    return (-points, reached_at, user_id)


def db_neighbours(
    *,
    period: str,
    start: dt.date,
    category_id: int,
    user_id: int,
    points: int,
    reached_at: dt.datetime,
    above: int,
    below: int,
) -> list[tuple[int, int]]:
    """(user_id, points) of the `above` standings just ahead of the given one, then it and the
    `below - 1` after it, in rank order."""
    params = {
        **_board_params(period, start, category_id),
        "user": user_id,
        "points": points,
        "reached": reached_at,
        "above": above,
        "below": below,
    }
    with connection.cursor() as cur:
        cur.execute(NEIGHBOURS_SQL, params)
        rows = sorted(cur.fetchall(), key=_rank_key)
    mine = (-points, reached_at, user_id)
    ahead = [r for r in rows if _rank_key(r) < mine][-above:] if above else []
    behind = [r for r in rows if _rank_key(r) >= mine][:below]
    return [(uid, pts) for uid, pts, _ in ahead + behind]


def _board_not_ready(period: str, start: dt.date, category_id: int) -> None:
    # A read has no commit to wait for: the receivers (which queue the rebuild) run now.
    dispatch(BoardNotReady(period=period, start=start.isoformat(), category_id=category_id))


def _users(ids: list[int]) -> dict[int, dict]:
    return account_selectors.public_users(ids)  # rendered: the rows carry API-ready dicts


def leaderboard(
    *, period: str, start: dt.date, category_id: int, offset: int, limit: int, use_redis: bool = True
) -> Board:
    """A page of a board: Redis when its set is ready, else PostgreSQL (and a rebuild is queued)."""
    page = redis_store.read_page(period, start, category_id, offset, limit) if use_redis else None
    if page is not None:
        total, items = page
        users = _users([uid for uid, _, _ in items])
        rows = [(rank, users[uid], pts) for uid, pts, rank in items if uid in users]
        return Board(period, start, category_id, total, rows, "redis")
    if use_redis and redis_store.client() is not None:
        _board_not_ready(period, start, category_id)
    total = db_total(period=period, start=start, category_id=category_id)
    items = db_top(period=period, start=start, category_id=category_id, limit=limit, offset=offset)
    users = _users([uid for uid, _ in items])
    rows = [(offset + i + 1, users[uid], pts) for i, (uid, pts) in enumerate(items) if uid in users]
    return Board(period, start, category_id, total, rows, "database")


def rank_of(*, period: str, start: dt.date, category_id: int, user_id: int, use_redis: bool = True) -> int | None:
    if use_redis:
        ready, rank = redis_store.read_rank(period, start, category_id, user_id)
        if ready:
            return rank
    found = db_rank(period=period, start=start, category_id=category_id, user_id=user_id)
    return None if found is None else found[0]


def leaderboard_around(
    *, period: str, start: dt.date, category_id: int, user_id: int, limit: int, use_redis: bool = True
) -> Board:
    """The caller's own rank with neighbours: `limit` rows centred on them."""
    if use_redis:
        ready, rank = redis_store.read_rank(period, start, category_id, user_id)
        if ready:
            offset = 0 if rank is None else max(0, rank - 1 - limit // 2)
            board = leaderboard(
                period=period,
                start=start,
                category_id=category_id,
                offset=offset,
                limit=limit if rank is not None else 0,
                use_redis=True,
            )
            if board.source == "redis":  # else the set vanished in between: the database answers below
                points = next((p for r, _, p in board.rows if r == rank), None)
                board.me = None if rank is None else {"rank": rank, "points": points}
                return board
        if redis_store.client() is not None:
            _board_not_ready(period, start, category_id)
    total, found = db_standing(period=period, start=start, category_id=category_id, user_id=user_id)
    if found is None:
        return Board(period, start, category_id, total, [], "database", None)
    rank, points, reached_at = found
    above = min(rank - 1, limit // 2)
    items = db_neighbours(
        period=period,
        start=start,
        category_id=category_id,
        user_id=user_id,
        points=points,
        reached_at=reached_at,
        above=above,
        below=limit - above,
    )
    users = _users([uid for uid, _ in items])
    first = rank - above
    rows = [(first + i, users[uid], pts) for i, (uid, pts) in enumerate(items) if uid in users]
    return Board(period, start, category_id, total, rows, "database", {"rank": rank, "points": points})


# --- catalogue, points history, achievements ----------------------------------------------------


def activity_catalogue() -> QuerySet[Activity]:
    """What earns points (active activities), in display order."""
    return Activity.objects.filter(is_active=True).order_by("sort_order", "code")


def level_catalogue() -> QuerySet[Level]:
    return Level.objects.order_by("number")


def achievement_catalogue() -> QuerySet[Achievement]:
    """Every active achievement, in display order (secret ones are masked by the serializer)."""
    return Achievement.objects.filter(is_active=True).order_by("sort_order", "code")


def unlocked_achievement_ids(viewer) -> set[int]:
    """The achievements the viewer has unlocked (none for an anonymous viewer)."""
    if not getattr(viewer, "is_authenticated", False):
        return set()
    return set(UserAchievement.objects.filter(user_id=viewer.pk).values_list("achievement_id", flat=True))


def user_for_view(*, user_id: int, viewer) -> User:
    """The user whose gamification pages are asked for; 404 if absent or hidden from the viewer."""
    user = User.objects.select_related("profile").filter(pk=user_id, is_active=True).first()
    if user is None or not access.can_see_user(viewer, user):
        raise NotFound("No such user.")
    return user


def sees_full_standing(*, viewer, user: User) -> bool:
    """The owner (and admins) see every point the user earned; others the public standing."""
    return account_selectors.is_owner_or_admin(viewer, user)


def points_history(*, user_id: int, viewer) -> QuerySet[PointTransaction]:
    """The ledger without rows earned in categories the viewer may not read (the owner included:
    a category closed since still does not show through its ledger)."""
    qs = PointTransaction.objects.filter(user_id=user_id)
    hidden = access.unreadable_category_ids(viewer)
    if hidden:
        qs = qs.exclude(category_id__in=hidden)
    if not (access.is_moderator(viewer) or getattr(viewer, "pk", None) == user_id):
        # Points for a post or comment under moderation (hidden, pending) name it: not to others.
        from django.db.models import CharField, Exists, OuterRef
        from django.db.models.functions import Cast

        from apps.forum.models import Comment, Post

        for source_type, model in (("post", Post), ("comment", Comment)):
            unseen = model.objects.annotate(sid=Cast("id", CharField())).filter(
                sid=OuterRef("source_id"), status__in=["hidden", "pending"]
            )
            qs = qs.exclude(Q(source_type=source_type) & Exists(unseen))
    return qs


@dataclass
class AchievementView:
    achievement: Achievement
    unlocked_at: dt.datetime | None
    current: int | None
    target: int | None


def _current(achievement: Achievement, stats: UserStats | None, level: int) -> int | None:
    c = achievement.criteria
    if achievement.criteria_type == CriteriaType.COUNTER:
        return int(getattr(stats, c.get("stat", ""), 0) or 0) if stats else 0
    if achievement.criteria_type == CriteriaType.STREAK:
        return stats.longest_streak if stats else 0
    if achievement.criteria_type == CriteriaType.LEVEL:
        return level
    return None


def _unlocked_in_unreadable_categories(*, user_id: int, viewer) -> list[str]:
    """Codes of achievements unlocked by an action in a category the viewer may not read (their
    bonus row carries that category: services.unlock_achievement)."""
    hidden = access.unreadable_category_ids(viewer)
    if not hidden:
        return []
    return list(
        PointTransaction.objects.filter(user_id=user_id, source_type="achievement", category_id__in=hidden)
        .values_list("source_id", flat=True)
        .distinct()
    )


def user_achievements(*, user: User, with_progress: bool, viewer=None) -> list[AchievementView]:
    """Unlocked achievements; for the owner also every other one with its progress. To others,
    not those unlocked by activity in a category the viewer may not read, nor the holder-tier ones
    of an owner who hides their holdings."""
    unlocked = {
        ua.achievement_id: ua.unlocked_at
        for ua in UserAchievement.objects.filter(user_id=user.pk).only("achievement_id", "unlocked_at")
    }
    if not with_progress:
        found = Achievement.objects.filter(pk__in=unlocked).order_by("sort_order", "code")
        if not sees_full_standing(viewer=viewer, user=user):
            found = found.exclude(code__in=_unlocked_in_unreadable_categories(user_id=user.pk, viewer=viewer))
        if account_selectors.holdings_hidden_from(viewer, user):
            found = found.exclude(criteria_type=CriteriaType.HOLDER_TIER)
        return [AchievementView(a, unlocked[a.pk], None, a.target) for a in found]
    stats = UserStats.objects.filter(user_id=user.pk).first()
    level = user.profile.level
    views = []
    for a in catalogue.active_achievements():
        target = a.target
        current = _current(a, stats, level)
        if current is not None and target is not None:
            current = min(current, target)
        views.append(AchievementView(a, unlocked.get(a.pk), current, target))
    return views
