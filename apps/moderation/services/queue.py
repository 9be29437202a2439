"""The queue's own state: claims (so two moderators do not work one item), resolving an item and
judging its reports, and closing items whose content the author deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.core import events
from apps.core.exceptions import Conflict, NotFound
from apps.moderation import audit
from apps.moderation.events import ReviewableResolved
from apps.moderation.models import Report, ReporterStats, ReportStatus, Reviewable, ReviewableKind, ReviewableStatus
from apps.moderation.services.rules import REPORT_STATUS, RESOLUTION, A, require_moderator


def claim_expiry() -> datetime:
    return timezone.now() - timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)


@transaction.atomic
def reviewable_claim(*, reviewable_id: int, moderator: User) -> Reviewable:
    require_moderator(moderator)
    now = timezone.now()
    updated = Reviewable.objects.filter(
        Q(claimed_by__isnull=True) | Q(claimed_at__lt=claim_expiry()) | Q(claimed_by=moderator),
        pk=reviewable_id,
        status=ReviewableStatus.PENDING,
    ).update(claimed_by=moderator, claimed_at=now)
    reviewable = Reviewable.objects.filter(pk=reviewable_id).select_related("claimed_by").first()
    if reviewable is None:
        raise NotFound()
    if not updated:
        if reviewable.status != ReviewableStatus.PENDING:
            raise Conflict("This item has already been resolved.")
        raise Conflict(f"{reviewable.claimed_by.username} is working on this item.")
    audit.record(
        actor=moderator,
        action=A.CLAIM,
        target_type=reviewable.target_type,
        target_id=reviewable.target_id,
        target_user_id=reviewable.target_user_id,
        reviewable=reviewable,
    )
    return reviewable


@transaction.atomic
def reviewable_unclaim(*, reviewable_id: int, moderator: User) -> Reviewable:
    require_moderator(moderator)
    reviewable = Reviewable.objects.select_for_update().filter(pk=reviewable_id).first()
    if reviewable is None:
        raise NotFound()
    if (
        reviewable.claimed_by_id
        and reviewable.claimed_by_id != moderator.pk
        and reviewable.claim_active
        and not moderator.is_admin_role
    ):
        raise Conflict("Another moderator holds this claim.")
    if reviewable.claimed_by_id:
        Reviewable.objects.filter(pk=reviewable.pk).update(claimed_by=None, claimed_at=None)
        audit.record(
            actor=moderator,
            action=A.UNCLAIM,
            target_type=reviewable.target_type,
            target_id=reviewable.target_id,
            target_user_id=reviewable.target_user_id,
            reviewable=reviewable,
        )
        reviewable.claimed_by, reviewable.claimed_at = None, None
    return reviewable


def check_claim(reviewable: Reviewable, actor: User) -> None:
    if reviewable.claim_active and reviewable.claimed_by_id != actor.pk:
        raise Conflict("Another moderator has claimed this item.")


def resolve(reviewable: Reviewable, *, action: str, actor: User | None) -> None:
    status = RESOLUTION[reviewable.kind].get(action)
    if status is None:
        return
    now = timezone.now()
    Reviewable.objects.filter(pk=reviewable.pk).update(
        status=status,
        resolved_by=actor,
        resolved_at=now,
        resolution=action,
        claimed_by=None,
        claimed_at=None,
        updated_at=now,
    )
    reviewable.status, reviewable.resolution, reviewable.resolved_at = status, action, now
    reviewable.resolved_by, reviewable.claimed_by, reviewable.claimed_at = actor, None, None
    reports = Report.objects.filter(reviewable=reviewable, status=ReportStatus.OPEN)
    reporter_ids = tuple(reports.values_list("reporter_id", flat=True))
    reports.update(status=REPORT_STATUS[status], resolved_at=now)
    if reporter_ids and reviewable.kind == ReviewableKind.FLAGGED:
        ReporterStats.objects.bulk_create([ReporterStats(user_id=uid) for uid in reporter_ids], ignore_conflicts=True)
        counter = {
            ReviewableStatus.APPROVED: "agreed",
            ReviewableStatus.REJECTED: "rejected",
            ReviewableStatus.IGNORED: "ignored",
        }[status]
        ReporterStats.objects.filter(user_id__in=reporter_ids).update(**{counter: F(counter) + 1}, updated_at=now)
    events.emit(
        ReviewableResolved(
            reviewable_id=reviewable.pk,
            status=status,
            action=action,
            moderator_id=actor.pk if actor else None,
            reporter_ids=reporter_ids,
        )
    )


@transaction.atomic
def close_for_deleted_target(*, target_type: str, target_id: int) -> int:
    """The author deleted the item: its pending queue item has nothing left to decide. Closed as
    ignored (reporters' accuracy untouched). Returns how many items were closed."""
    now = timezone.now()
    pending = Reviewable.objects.filter(target_type=target_type, target_id=target_id, status=ReviewableStatus.PENDING)
    ids = list(pending.values_list("pk", flat=True))
    if not ids:
        return 0
    Report.objects.filter(reviewable_id__in=ids, status=ReportStatus.OPEN).update(
        status=ReportStatus.IGNORED, resolved_at=now
    )
    return pending.update(
        status=ReviewableStatus.IGNORED,
        resolution="author_deleted",
        resolved_at=now,
        claimed_by=None,
        claimed_at=None,
        updated_at=now,
    )
