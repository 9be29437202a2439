"""What other areas' events mean for points: content created or removed (forum), a verified
wallet and holder tiers (wallet), market milestones witnessed (market). Votes: services.votes."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.gamification import catalogue
from apps.gamification.models import ActivityLog
from apps.gamification.services.achievements import check_achievements, unlock_event_achievements
from apps.gamification.services.activity import bump_stat, record_activity, record_visit
from apps.gamification.services.ledger import award_points, reverse_source


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
    record_visit(user_id=author_id, category_id=category_id, now=now)
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
    check_achievements(user_id=author_id, category_id=category_id)


def content_removed(*, kind: str, object_id: int) -> int:
    return reverse_source(source_type=kind, source_id=object_id, reason=f"{kind} removed")


def wallet_verified(*, user_id: int, address: str) -> None:
    record_activity(user_id=user_id, verb="wallet_verified", object_type="wallet", object_id=address)
    award_points(user_id=user_id, activity="wallet_verified", idempotency_key=f"wallet_verified:{user_id}")


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
