"""Upvotes into points: credited once per (target, voter) while the vote stands, only from
eligible voters, with diminishing returns for the same voter; retracting reverses the award."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.gamification import catalogue
from apps.gamification.models import PointTransaction, TransactionKind
from apps.gamification.services.achievements import check_achievements
from apps.gamification.services.activity import bump_stat, record_activity
from apps.gamification.services.ledger import award_points, reverse_transaction

VOTE_ACTIVITIES = {"post": "post_upvoted", "comment": "comment_upvoted"}


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


def standing_vote_awards(*, since: dt.datetime, **who: object) -> QuerySet[PointTransaction]:
    """Vote awards made since `since` and not reversed, narrowed by `who` (user_id=, actor_id=...)."""
    return PointTransaction.objects.filter(
        kind=TransactionKind.AWARD,
        activity__in=VOTE_ACTIVITIES.values(),
        created_at__gte=since,
        reversed_by__isnull=True,
        **who,
    )


def _diminished(*, base: int, author_id: int, voter_id: int, now: dt.datetime) -> int:
    since = now - dt.timedelta(days=settings.GAMIFICATION_SAME_VOTER_WINDOW_DAYS)
    prior = standing_vote_awards(since=since, user_id=author_id, actor_id=voter_id).count()
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
        check_achievements(user_id=author_id, category_id=category_id)
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
