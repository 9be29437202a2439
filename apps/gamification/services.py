"""Every gamification write: awards and reversals on the ledger, anti-abuse rules, activity log,
streaks, achievements, vote-ring detection and leaderboard maintenance.

The ledger row, the profile's points/level and the leaderboard standings change in one
transaction; events and broadcasts leave after it commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Profile, User
from apps.core import realtime
from apps.core.events import emit
from apps.gamification import catalogue, redis_store
from apps.gamification.events import AchievementUnlocked, LevelUp, PointsAwarded, VoteRingDetected
from apps.gamification.models import (
    Achievement,
    ActivityLog,
    CriteriaType,
    PointTransaction,
    TransactionKind,
    UserAchievement,
    UserStats,
    VoteRingReport,
)
from apps.gamification.periods import day_start, period_start, period_starts

logger = logging.getLogger(__name__)

VOTE_ACTIVITIES = {"post": "post_upvoted", "comment": "comment_upvoted"}


# --- ledger -----------------------------------------------------------------------------------


def _lock_profile(user_id: int, *, active_only: bool = False) -> tuple[int, int] | None:
    """Lock the profile row; (points, level). With active_only, None for an inactive account
    (read in the same query, so the award's query budget does not grow)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.points, p.level, u.is_active FROM profiles p JOIN users u ON u.id = p.user_id"
            " WHERE p.user_id = %s FOR UPDATE OF p",
            [user_id],
        )
        row = cur.fetchone()
    if row is None:
        Profile.objects.get_or_create(user_id=user_id)
        return _lock_profile(user_id, active_only=active_only)
    if active_only and not row[2]:
        return None
    return int(row[0]), int(row[1])


def _upsert_standings(
    *, user_id: int, amount: int, category_id: int | None, earned_at: dt.datetime, reached_at: dt.datetime
) -> list[tuple]:
    reached = reached_at.replace(microsecond=0)
    values, params = [], []
    categories = [0] + ([category_id] if category_id else [])
    for period, start in period_starts(earned_at):
        for cat in categories:
            values.append("(%s, %s, %s, %s, %s, %s)")
            params += [period, start, cat, user_id, amount, reached]
    sql = (
        "INSERT INTO leaderboards (period, period_start, category_id, user_id, points, reached_at) VALUES "  # noqa: S608
        + ", ".join(values)  # placeholders only: every value is a parameter
        + " ON CONFLICT (period, period_start, category_id, user_id) DO UPDATE SET"
        " points = leaderboards.points + EXCLUDED.points,"
        " reached_at = GREATEST(leaderboards.reached_at, EXCLUDED.reached_at)"
        " RETURNING period, period_start, category_id, user_id, points, reached_at"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _after_change(*, txn: PointTransaction, old_level: int, new_level: int, standings: list[tuple]) -> None:
    emit(PointsAwarded(user_id=txn.user_id, transaction_id=txn.id, amount=txn.amount, activity=txn.activity))
    realtime.broadcast(
        f"user:{txn.user_id}",
        "points.awarded",
        {
            "transaction_id": txn.id,
            "activity": txn.activity,
            "kind": txn.kind,
            "amount": txn.amount,
            "created_at": txn.created_at,
        },
    )
    if new_level > old_level:
        emit(LevelUp(user_id=txn.user_id, old_level=old_level, new_level=new_level))
        realtime.broadcast(f"user:{txn.user_id}", "level.up", {"old_level": old_level, "new_level": new_level})
        user_id = txn.user_id
        transaction.on_commit(lambda: check_achievements(user_id=user_id))  # level achievements
    transaction.on_commit(lambda: redis_store.apply_updates(standings))
    transaction.on_commit(_pages_stale)
    transaction.on_commit(_leaderboard_changed)


def _pages_stale() -> None:
    from apps.gamification import selectors  # selectors imports services' neighbours; keep it lazy

    selectors.bump_page_cache_version()


def _leaderboard_changed() -> None:
    # Throttled: at most one broadcast per GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS.
    seconds = settings.GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS
    try:
        first = cache.add("gamification:leaderboard-changed", 1, timeout=seconds)
    except Exception:
        first = True
    if first:
        realtime.broadcast_now("leaderboard", "leaderboard.changed", {"throttle_seconds": seconds})


def _apply(
    *,
    user_id: int,
    activity: str,
    amount: int,
    kind: str,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    category_id: int | None,
    actor_id: int | None,
    now: dt.datetime,
    earned_at: dt.datetime,
    reverses: PointTransaction | None = None,
    old_points: int,
    old_level: int,
    note: str = "",
) -> PointTransaction:
    txn = PointTransaction.objects.create(
        user_id=user_id,
        activity=activity,
        kind=kind,
        amount=amount,
        source_type=source_type,
        source_id=source_id,
        category_id=category_id,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        reverses=reverses,
        note=note,
        created_at=now,
        earned_at=earned_at,
    )
    new_level = catalogue.level_for_points(old_points + amount)
    Profile.objects.filter(user_id=user_id).update(points=F("points") + amount, level=new_level)
    standings = _upsert_standings(
        user_id=user_id, amount=amount, category_id=category_id, earned_at=earned_at, reached_at=now
    )
    _after_change(txn=txn, old_level=old_level, new_level=new_level, standings=standings)
    return txn


@transaction.atomic
def award_points(
    *,
    user_id: int,
    activity: str,
    idempotency_key: str,
    amount: int | None = None,
    source_type: str = "",
    source_id: str | int = "",
    category_id: int | None = None,
    actor_id: int | None = None,
    apply_caps: bool = True,
    now: dt.datetime | None = None,
) -> PointTransaction | None:
    """Award points once per idempotency key. Caps (per activity and overall, per UTC day, net of
    reversals) shrink the award; nothing is written when nothing is left. Returns the new row, or
    None when the key was already used or the award came to nothing."""
    spec = catalogue.activities().get(activity)
    if spec is None or not spec.is_active:
        logger.warning("unknown or inactive activity %s", activity)
        return None
    amount = spec.points if amount is None else amount
    if amount <= 0:
        return None
    now = now or timezone.now()
    locked = _lock_profile(user_id, active_only=True)  # serialises every award for this user
    if locked is None:
        return None  # closed accounts (and the deleted-user account holding their posts) earn nothing
    old_points, old_level = locked
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM point_transactions WHERE idempotency_key = %s),"
            " COALESCE(SUM(amount) FILTER (WHERE activity = %s), 0),"
            " COALESCE(SUM(amount) FILTER (WHERE activity = ANY(%s)), 0)"
            " FROM point_transactions WHERE user_id = %s AND created_at >= %s",
            [idempotency_key, activity, catalogue.capped_activity_codes(), user_id, day_start(now)],
        )
        exists, today_activity, today_overall = cur.fetchone()
    if exists:
        return None
    if apply_caps:
        if spec.daily_cap is not None:
            amount = min(amount, spec.daily_cap - int(today_activity))
        if spec.counts_toward_daily_cap:
            amount = min(amount, settings.GAMIFICATION_DAILY_CAP - int(today_overall))
    if amount <= 0:
        return None
    return _apply(
        user_id=user_id,
        activity=activity,
        amount=amount,
        kind=TransactionKind.AWARD,
        idempotency_key=idempotency_key,
        source_type=source_type,
        source_id=str(source_id),
        category_id=category_id,
        actor_id=actor_id,
        now=now,
        earned_at=now,
        old_points=old_points,
        old_level=old_level,
    )


@transaction.atomic
def reverse_transaction(
    *, transaction_id: int, reason: str = "", now: dt.datetime | None = None
) -> PointTransaction | None:
    """Append the entry that cancels an award (never an edit). Once per award."""
    original = PointTransaction.objects.filter(pk=transaction_id, kind=TransactionKind.AWARD).first()
    if original is None:
        return None
    old_points, old_level = _lock_profile(original.user_id)
    if PointTransaction.objects.filter(reverses_id=original.id).exists():
        return None
    return _apply(
        user_id=original.user_id,
        activity=original.activity,
        amount=-original.amount,
        kind=TransactionKind.REVERSAL,
        idempotency_key=f"reversal:{original.id}",
        source_type=original.source_type,
        source_id=original.source_id,
        category_id=original.category_id,
        actor_id=original.actor_id,
        now=now or timezone.now(),
        earned_at=original.earned_at,
        reverses=original,
        old_points=old_points,
        old_level=old_level,
        note=reason[:200],
    )


def reverse_source(*, source_type: str, source_id: str | int, reason: str) -> int:
    """Reverse every award still standing for an object (removed post or comment)."""
    ids = list(
        PointTransaction.objects.filter(
            source_type=source_type, source_id=str(source_id), kind=TransactionKind.AWARD, reversed_by__isnull=True
        ).values_list("id", flat=True)
    )
    return sum(1 for i in ids if reverse_transaction(transaction_id=i, reason=reason) is not None)


# --- activity log, counters, streaks -------------------------------------------------------------


def record_activity(
    *,
    user_id: int,
    verb: str,
    object_type: str = "",
    object_id: str | int = "",
    category_id: int | None = None,
    dedupe_key: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Log an action; with a dedupe key, the second identical record is ignored. True if written."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO activity_log (user_id, verb, object_type, object_id, category_id, dedupe_key, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [user_id, verb, object_type, str(object_id), category_id, dedupe_key, now or timezone.now()],
        )
        return cur.fetchone() is not None


STAT_FIELDS = {"posts_created", "comments_created", "upvotes_received"}


def bump_stat(*, user_id: int, field: str, delta: int = 1) -> None:
    if field not in STAT_FIELDS:
        raise ValueError(field)
    initial = {f: 0 for f in STAT_FIELDS} | {field: max(delta, 0)}
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO gamification_user_stats AS s (user_id, posts_created, comments_created, upvotes_received,"  # noqa: S608
            " current_streak, longest_streak) VALUES (%s, %s, %s, %s, 0, 0)"
            f" ON CONFLICT (user_id) DO UPDATE SET {field} = GREATEST(s.{field} + %s, 0)",
            [user_id, initial["posts_created"], initial["comments_created"], initial["upvotes_received"], delta],
        )


def record_visit(*, user_id: int, now: dt.datetime | None = None) -> int | None:
    """Count today as an active day: the first call of a UTC day advances the streak and awards
    the daily visit (and the streak bonus every 7th consecutive day). Returns the new streak, or
    None if today was already counted."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO gamification_user_stats AS s (user_id, posts_created, comments_created, upvotes_received,"
            " current_streak, longest_streak, last_active_on) VALUES (%s, 0, 0, 0, 1, 1, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " current_streak = CASE WHEN s.last_active_on = %s THEN s.current_streak + 1 ELSE 1 END,"
            " longest_streak = GREATEST(s.longest_streak,"
            "   CASE WHEN s.last_active_on = %s THEN s.current_streak + 1 ELSE 1 END),"
            " last_active_on = EXCLUDED.last_active_on"
            " WHERE s.last_active_on IS NULL OR s.last_active_on < EXCLUDED.last_active_on"
            " RETURNING current_streak",
            [user_id, today, today - dt.timedelta(days=1), today - dt.timedelta(days=1)],
        )
        row = cur.fetchone()
    if row is None:
        return None
    streak = int(row[0])
    award_points(user_id=user_id, activity="daily_visit", idempotency_key=f"daily_visit:{user_id}:{today}", now=now)
    if streak % 7 == 0:
        award_points(
            user_id=user_id, activity="visit_streak", idempotency_key=f"visit_streak:{user_id}:{today}", now=now
        )
    return streak


# --- forum reactions ---------------------------------------------------------------------------


def content_created(
    *, kind: str, object_id: int, author_id: int, category_id: int | None, now: dt.datetime | None = None
) -> None:
    """A post or comment was created (kind "post" | "comment")."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = record_activity(
            user_id=author_id,
            verb=f"{kind}_created",
            object_type=kind,
            object_id=object_id,
            category_id=category_id,
            dedupe_key=f"{kind}_created:{object_id}",
            now=now,
        )
        if fresh:  # a replayed event must not count twice; the awards below are idempotent anyway
            bump_stat(user_id=author_id, field=f"{kind}s_created")
    record_visit(user_id=author_id, now=now)
    award_points(
        user_id=author_id,
        activity=f"{kind}_created",
        idempotency_key=f"{kind}_created:{object_id}",
        source_type=kind,
        source_id=object_id,
        category_id=category_id,
        now=now,
    )
    if kind == "post":
        today = now.astimezone(dt.UTC).date()
        award_points(
            user_id=author_id,
            activity="first_post_of_day",
            idempotency_key=f"first_post_of_day:{author_id}:{today}",
            source_type="post",
            source_id=object_id,
            category_id=category_id,
            now=now,
        )
    check_achievements(user_id=author_id)


def content_removed(*, kind: str, object_id: int) -> int:
    return reverse_source(source_type=kind, source_id=object_id, reason=f"{kind} removed")


@dataclass
class VoteOutcome:
    counted: bool = False
    transaction: PointTransaction | None = None
    reversed: bool = False


def voter_is_eligible(voter: User, now: dt.datetime) -> bool:
    if not voter.in_good_standing:
        return False
    if voter.date_joined > now - dt.timedelta(hours=settings.GAMIFICATION_MIN_VOTER_AGE_HOURS):
        return False
    if settings.GAMIFICATION_REQUIRE_VERIFIED_VOTER:
        return bool(voter.email_verified or getattr(voter, "has_verified_wallet", False))
    return True


def _diminished(*, base: int, author_id: int, voter_id: int, now: dt.datetime) -> int:
    since = now - dt.timedelta(days=settings.GAMIFICATION_SAME_VOTER_WINDOW_DAYS)
    prior = PointTransaction.objects.filter(
        user_id=author_id,
        actor_id=voter_id,
        kind=TransactionKind.AWARD,
        activity__in=VOTE_ACTIVITIES.values(),
        created_at__gte=since,
        reversed_by__isnull=True,
    ).count()
    full = settings.GAMIFICATION_SAME_VOTER_FULL_AWARDS
    if prior < full:
        return base
    return base >> (prior - full + 1)


def vote_changed(
    *,
    target_type: str,
    target_id: int,
    author_id: int,
    voter_id: int,
    new_value: int,
    category_id: int | None,
    now: dt.datetime | None = None,
) -> VoteOutcome:
    """Apply a vote's new state. An upvote is credited once per (target, voter) while it stands;
    retracting or flipping it reverses what it earned. Replays are no-ops (state, not deltas)."""
    activity = VOTE_ACTIVITIES.get(target_type)
    outcome = VoteOutcome()
    if activity is None or voter_id == author_id:
        return outcome  # self-votes earn nothing and count nowhere
    now = now or timezone.now()
    prefix = f"vote:{target_type}:{target_id}:{voter_id}:"
    if new_value == 1:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO gamification_vote_credits (target_type, target_id, voter_id, author_id, category_id,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (target_type, target_id, voter_id) DO NOTHING RETURNING id",
                    [target_type, target_id, voter_id, author_id, category_id, now],
                )
                row = cur.fetchone()
            if row is None:
                return outcome
            outcome.counted = True
            bump_stat(user_id=author_id, field="upvotes_received", delta=1)
            voter = User.objects.filter(pk=voter_id).first()
            if voter is not None and voter_is_eligible(voter, now):
                spec = catalogue.activities().get(activity)
                base = spec.points if spec else 0
                amount = _diminished(base=base, author_id=author_id, voter_id=voter_id, now=now)
                if amount > 0:
                    outcome.transaction = award_points(
                        user_id=author_id,
                        activity=activity,
                        amount=amount,
                        idempotency_key=f"{prefix}{row[0]}",
                        source_type=target_type,
                        source_id=target_id,
                        category_id=category_id,
                        actor_id=voter_id,
                        now=now,
                    )
        record_activity(
            user_id=voter_id,
            verb="vote",
            object_type=target_type,
            object_id=target_id,
            category_id=category_id,
            dedupe_key=f"{prefix}{row[0]}",
            now=now,
        )
        check_achievements(user_id=author_id)
        return outcome
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM gamification_vote_credits WHERE target_type = %s AND target_id = %s AND voter_id = %s"
                " RETURNING id",
                [target_type, target_id, voter_id],
            )
            row = cur.fetchone()
        if row is None:
            return outcome
        bump_stat(user_id=author_id, field="upvotes_received", delta=-1)
        award = PointTransaction.objects.filter(idempotency_key=f"{prefix}{row[0]}").first()
        if award is not None:
            outcome.reversed = reverse_transaction(transaction_id=award.id, reason="vote retracted") is not None
    return outcome


# --- wallet and market reactions ---------------------------------------------------------------


def wallet_verified(*, user_id: int, address: str) -> None:
    record_activity(user_id=user_id, verb="wallet_verified", object_type="wallet", object_id=address)
    award_points(user_id=user_id, activity="wallet_verified", idempotency_key=f"wallet_verified:{user_id}")
    unlock_event_achievements(user_id=user_id, event="wallet_verified")


def holder_tier_changed(*, user_id: int, old_tier: str, new_tier: str) -> None:
    old_rank, new_rank = catalogue.holder_tier_rank(old_tier), catalogue.holder_tier_rank(new_tier)
    for name, _ in settings.HOLDER_TIERS[old_rank + 1 : new_rank + 1]:
        award_points(
            user_id=user_id,
            activity="holder_tier_reached",
            idempotency_key=f"holder_tier:{user_id}:{name}",
            source_type="holder_tier",
            source_id=name,
        )
    check_achievements(user_id=user_id, holder_tier=new_tier)


def milestone_witnessed(*, milestone_id: int, now: dt.datetime | None = None) -> int:
    """Everyone active in the hours before a market milestone witnessed it (once per milestone)."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.GAMIFICATION_MILESTONE_WITNESS_HOURS)
    user_ids = ActivityLog.objects.filter(created_at__gte=since).values_list("user_id", flat=True).distinct()
    count = 0
    for uid in user_ids.iterator():
        txn = award_points(
            user_id=uid,
            activity="milestone_witnessed",
            idempotency_key=f"milestone:{milestone_id}:{uid}",
            source_type="milestone",
            source_id=milestone_id,
        )
        unlock_event_achievements(user_id=uid, event="milestone_witnessed")
        count += txn is not None
    return count


# --- achievements ------------------------------------------------------------------------------


def unlock_achievement(*, user_id: int, achievement: Achievement, now: dt.datetime | None = None) -> bool:
    """Unlock once (unique row); the bonus, event and broadcast happen with the first unlock only."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO user_achievements (user_id, achievement_id, unlocked_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING id",
                [user_id, achievement.id, now],
            )
            if cur.fetchone() is None:
                return False
        if achievement.bonus_points:
            award_points(
                user_id=user_id,
                activity="achievement_unlocked",
                amount=achievement.bonus_points,
                idempotency_key=f"achievement:{achievement.code}:{user_id}",
                source_type="achievement",
                source_id=achievement.code,
                apply_caps=False,
                now=now,
            )
        emit(AchievementUnlocked(user_id=user_id, achievement_id=achievement.id))
        realtime.broadcast(
            f"user:{user_id}",
            "achievement.unlocked",
            {
                "code": achievement.code,
                "name": achievement.name,
                "description": achievement.description,
                "icon": achievement.icon,
                "tier": achievement.tier,
                "bonus_points": achievement.bonus_points,
                "unlocked_at": now,
            },
        )
    return True


def unlock_event_achievements(*, user_id: int, event: str) -> int:
    found = [
        a
        for a in catalogue.active_achievements()
        if a.criteria_type == CriteriaType.EVENT and a.criteria.get("event") == event
    ]
    return sum(unlock_achievement(user_id=user_id, achievement=a) for a in found)


def achievement_met(achievement: Achievement, *, stats: UserStats | None, level: int, holder_tier: str) -> bool:
    c = achievement.criteria
    if achievement.criteria_type == CriteriaType.COUNTER:
        current = getattr(stats, c.get("stat", ""), 0) if stats else 0
        return current >= int(c.get("target", 0))
    if achievement.criteria_type == CriteriaType.STREAK:
        return bool(stats) and stats.longest_streak >= int(c.get("days", 0))
    if achievement.criteria_type == CriteriaType.LEVEL:
        return level >= int(c.get("level", 0))
    if achievement.criteria_type == CriteriaType.HOLDER_TIER:
        return catalogue.holder_tier_rank(holder_tier) >= catalogue.holder_tier_rank(c.get("tier", ""))
    return False  # event and standing achievements are granted where those happen


STATE_TYPES = {CriteriaType.COUNTER, CriteriaType.STREAK, CriteriaType.LEVEL, CriteriaType.HOLDER_TIER}


def check_achievements(*, user_id: int, holder_tier: str | None = None) -> list[str]:
    """Unlock every state-based achievement the user now meets (bonus points may raise the level,
    which may unlock more: repeat until nothing new)."""
    unlocked: list[str] = []
    candidates = [a for a in catalogue.active_achievements() if a.criteria_type in STATE_TYPES]
    if not candidates:
        return unlocked
    for _ in range(3):
        have = set(UserAchievement.objects.filter(user_id=user_id).values_list("achievement_id", flat=True))
        todo = [a for a in candidates if a.id not in have]
        if not todo:
            break
        stats = UserStats.objects.filter(user_id=user_id).first()
        profile = Profile.objects.filter(user_id=user_id).values("level", "holder_tier").first() or {}
        tier = holder_tier or profile.get("holder_tier", "none")
        new = [
            a
            for a in todo
            if achievement_met(a, stats=stats, level=profile.get("level", 1), holder_tier=tier)
            and unlock_achievement(user_id=user_id, achievement=a)
        ]
        unlocked += [a.code for a in new]
        if not new:
            break
    return unlocked


def grant_standing_achievements(*, week_start: dt.date | None = None) -> int:
    """Unlock standing achievements (top N of a finished weekly board). Default: last week."""
    from apps.gamification import selectors

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
                granted += unlock_achievement(user_id=user_id, achievement=a)
    return granted


def backfill_achievements(*, codes: list[str] | None = None, batch_size: int = 1000) -> int:
    """Grant achievements retroactively (after a definition is added): state-based ones from the
    counters and profiles, event ones from the ledger, standing ones from past weekly boards."""
    from apps.gamification import selectors
    from apps.gamification.models import LeaderboardEntry

    catalogue.clear()
    achievements = [a for a in catalogue.active_achievements() if codes is None or a.code in codes]
    granted = 0
    state = [a for a in achievements if a.criteria_type in STATE_TYPES]
    if state:
        profiles = Profile.objects.values_list("user_id", "level", "holder_tier").order_by("user_id")
        for user_id, level, tier in profiles.iterator(chunk_size=batch_size):
            stats = UserStats.objects.filter(user_id=user_id).first()
            for a in state:
                if achievement_met(a, stats=stats, level=level, holder_tier=tier):
                    granted += unlock_achievement(user_id=user_id, achievement=a)
    event_sources = {"wallet_verified": "wallet_verified", "milestone_witnessed": "milestone_witnessed"}
    for a in achievements:
        if a.criteria_type == CriteriaType.EVENT:
            activity = event_sources.get(a.criteria.get("event", ""))
            if activity:
                users = PointTransaction.objects.filter(activity=activity, kind=TransactionKind.AWARD)
                for uid in users.values_list("user_id", flat=True).distinct().iterator():
                    granted += unlock_achievement(user_id=uid, achievement=a)
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
                    granted += unlock_achievement(user_id=uid, achievement=a)
    return granted


# --- vote rings ---------------------------------------------------------------------------------


def _strongly_connected(graph: dict[int, set[int]]) -> list[list[int]]:
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    out: list[list[int]] = []
    counter = [0]

    def visit(v: int) -> None:  # recursion depth is bounded by the (small) heavy-edge graph
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


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
    for comp in _strongly_connected(graph):
        if not (2 <= len(comp) <= settings.GAMIFICATION_RING_MAX_SIZE):
            continue
        members = sorted(comp)
        edges = [[v, a, weights[(v, a)]] for (v, a) in sorted(weights) if v in comp and a in comp]
        awards = PointTransaction.objects.filter(
            user_id__in=members,
            actor_id__in=members,
            kind=TransactionKind.AWARD,
            activity__in=VOTE_ACTIVITIES.values(),
            created_at__gte=since,
            reversed_by__isnull=True,
        ).values_list("id", "amount")
        reversed_count = reversed_points = 0
        for txn_id, amount in list(awards):
            if reverse_transaction(transaction_id=txn_id, reason="vote ring") is not None:
                reversed_count += 1
                reversed_points += amount
        with transaction.atomic():
            report, created = VoteRingReport.objects.get_or_create(
                dedupe_key=f"ring:{','.join(map(str, members))}:{now.date().isoformat()}",
                defaults={"members": members, "edges": edges, "window_start": since, "window_end": now},
            )
            report.reversed_transactions = F("reversed_transactions") + reversed_count
            report.reversed_points = F("reversed_points") + reversed_points
            report.save(update_fields=["reversed_transactions", "reversed_points"])
            report.refresh_from_db()
            if created:
                emit(VoteRingDetected(report_id=report.id, member_ids=tuple(members)))
        reports.append(report)
    return reports


def prune_activity_log(*, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.GAMIFICATION_ACTIVITY_LOG_RETENTION_DAYS)
    deleted, _ = ActivityLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- leaderboards --------------------------------------------------------------------------------

REBUILD_SQL = """
INSERT INTO leaderboards (period, period_start, category_id, user_id, points, reached_at)
SELECT %(period)s, {start_expr}, c.category_id, t.user_id, SUM(t.amount),
       MAX(date_trunc('second', t.created_at))
FROM point_transactions t
CROSS JOIN LATERAL (VALUES (0::bigint), (t.category_id)) AS c(category_id)
WHERE c.category_id IS NOT NULL
GROUP BY 2, c.category_id, t.user_id
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
    is the truth).

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
        for period, expr in START_EXPR.items():
            cur.execute(REBUILD_SQL.format(start_expr=expr), {"period": period})
            total += cur.rowcount
        cur.execute("SELECT set_config('app.leaderboard_rebuild', 'off', true)")
        cur.execute(REBUILD_COUNTS_SQL)
        for name, definition in uniques:
            cur.execute(f'ALTER TABLE leaderboards ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cur.execute(definition)
    transaction.on_commit(_pages_stale)
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


def rebuild_redis_board(*, period: str, start: dt.date, category_id: int) -> int:
    from apps.gamification.models import LeaderboardEntry

    rows = (
        LeaderboardEntry.objects.filter(period=period, period_start=start, category_id=category_id, points__gt=0)
        .values_list("user_id", "points", "reached_at")
        .iterator(chunk_size=5000)
    )
    built = redis_store.build(period, start, category_id, rows)
    _pages_stale()  # pages rendered while the board was missing: recompute (Redis is not transactional)
    return built


def rebuild_redis_leaderboards(*, now: dt.datetime | None = None) -> int:
    """Build the current period of every board (global and each category) into Redis."""
    from apps.gamification.models import LeaderboardEntry

    if redis_store.client() is None:
        return 0
    built = 0
    for period, start in period_starts(now or timezone.now()):
        cats = (
            LeaderboardEntry.objects.filter(period=period, period_start=start)
            .values_list("category_id", flat=True)
            .distinct()
        )
        for cat in sorted(set(cats) | {0}):
            rebuild_redis_board(period=period, start=start, category_id=cat)
            built += 1
    return built
