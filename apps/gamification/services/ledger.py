"""The points ledger: awards (idempotent, capped per UTC day) and their reversals.

The ledger row, the profile's points/level and the leaderboard standings change in one
transaction; events and broadcasts leave after it commits. A level-up's achievements are checked
by gamification's own LevelUp receiver (apps.gamification.receivers)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Profile
from apps.core import access, push
from apps.core.events import emit
from apps.gamification import catalogue
from apps.gamification.events import LevelUp, PointsAwarded
from apps.gamification.models import PointTransaction, TransactionKind
from apps.gamification.periods import day_start
from apps.gamification.services.leaderboards import standings_changed, upsert_standings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Standing:
    """A profile's points and level, full (the owner's) and public (everyone's)."""

    points: int
    level: int
    public_points: int
    public_level: int


def _lock_profile(user_id: int, *, active_only: bool = False) -> Standing | None:
    """Lock the profile row and read its standing. With active_only, None for an inactive account
    (read in the same query, so the award's query budget does not grow)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.points, p.level, p.public_points, p.public_level, u.is_active"
            " FROM profiles p JOIN users u ON u.id = p.user_id WHERE p.user_id = %s FOR UPDATE OF p",
            [user_id],
        )
        row = cur.fetchone()
    if row is None:
        Profile.objects.get_or_create(user_id=user_id)
        return _lock_profile(user_id, active_only=active_only)
    if active_only and not row[4]:
        return None
    return Standing(*(int(v) for v in row[:4]))


def _after_change(*, txn: PointTransaction, old_level: int, new_level: int, standings: list[tuple]) -> None:
    emit(PointsAwarded(user_id=txn.user_id, transaction_id=txn.id, amount=txn.amount, activity=txn.activity))
    push.broadcast(
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
        emit(LevelUp(user_id=txn.user_id, old_level=old_level, new_level=new_level, category_id=txn.category_id))
        push.broadcast(f"user:{txn.user_id}", "level.up", {"old_level": old_level, "new_level": new_level})
    standings_changed(standings)


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
    old: Standing,
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
    new_level = catalogue.level_for_points(old.points + amount)
    public = access.counts_publicly(category_id)
    public_amount = amount if public else 0
    Profile.objects.filter(user_id=user_id).update(
        points=F("points") + amount,
        level=new_level,
        public_points=F("public_points") + public_amount,
        public_level=catalogue.level_for_points(old.public_points + public_amount),
    )
    standings = upsert_standings(
        user_id=user_id, amount=amount, category_id=category_id, public=public, earned_at=earned_at, reached_at=now
    )
    _after_change(txn=txn, old_level=old.level, new_level=new_level, standings=standings)
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
        old=locked,
    )


@transaction.atomic
def reverse_transaction(
    *, transaction_id: int, reason: str = "", now: dt.datetime | None = None
) -> PointTransaction | None:
    """Append the entry that cancels an award (never an edit). Once per award."""
    original = PointTransaction.objects.filter(pk=transaction_id, kind=TransactionKind.AWARD).first()
    if original is None:
        return None
    locked = _lock_profile(original.user_id)
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
        old=locked,
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
