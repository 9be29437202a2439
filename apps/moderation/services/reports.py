"""Reports and system flags: the one pending queue item per target, its weighted score, and the
automatic hiding once the score passes MODERATION_AUTO_HIDE_SCORE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core import events, limits
from apps.core.exceptions import NotFound, ValidationFailed
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation import audit, content, targets
from apps.moderation.events import ContentModerated, ReportCreated
from apps.moderation.models import (
    SYSTEM_REASONS,
    Report,
    ReportReason,
    ReportStatus,
    Reviewable,
    ReviewableKind,
    ReviewableStatus,
    TargetType,
)
from apps.moderation.scoring import reporter_weight
from apps.moderation.services.rules import A, lock_target


@dataclass(frozen=True)
class ReportResult:
    report: Report
    created: bool  # False: the reporter's open report on this item already existed (idempotent)


def _check_report_rate(reporter: User) -> None:
    if reporter.is_moderator:
        return
    new_account = reporter.date_joined > timezone.now() - timedelta(hours=settings.MODERATION_NEW_USER_HOURS)
    name = "reports_new_user" if new_account else "reports"
    limit = limits.limit_for(name)
    limits.hit(name, f"u{reporter.pk}", message=f"You can send {limit.count} reports an hour.")


@transaction.atomic
def report_create(*, reporter: User, target_type: str, target_id: int, reason: str, note: str = "") -> ReportResult:
    if target_type not in TargetType.values:
        raise ValidationFailed("Unknown target type.", details={"target_type": ["Must be post, comment or user."]})
    if reason not in ReportReason.values:
        raise ValidationFailed(
            "Unknown reason.", details={"reason": [f"Must be one of {', '.join(ReportReason.values)}."]}
        )
    obj = targets.load(target_type, target_id)
    if obj is None or not targets.visible_to(reporter, obj):
        raise NotFound("Nothing to report here.")
    tinfo = targets.info(target_type, obj)
    if tinfo.author_id == reporter.pk:
        raise ValidationFailed("You cannot report yourself or your own content.")

    lock_target(target_type, target_id)
    existing = Report.objects.filter(
        reporter=reporter, target_type=target_type, target_id=target_id, status=ReportStatus.OPEN
    ).first()
    if existing is not None:
        return ReportResult(existing, created=False)
    _check_report_rate(reporter)

    reviewable = _pending_reviewable(tinfo, kind=ReviewableKind.FLAGGED)
    weight = reporter_weight(reporter)
    report = Report.objects.create(
        reviewable=reviewable,
        reporter=reporter,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        note=note.strip()[:1000],
        weight=weight,
    )
    _add_score(reviewable, weight, reason)
    events.emit(
        ReportCreated(
            report_id=report.pk,
            reviewable_id=reviewable.pk,
            reporter_id=reporter.pk,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
        )
    )
    _maybe_auto_hide(reviewable, tinfo)
    return ReportResult(report, created=True)


def _pending_reviewable(tinfo: targets.TargetInfo, *, kind: str) -> Reviewable:
    """The one pending reviewable of a target (the caller holds the target's advisory lock)."""
    reviewable = (
        Reviewable.objects.select_for_update()
        .filter(target_type=tinfo.target_type, target_id=tinfo.obj.pk, status=ReviewableStatus.PENDING)
        .first()
    )
    if reviewable is None:
        reviewable = Reviewable.objects.create(
            kind=kind,
            target_type=tinfo.target_type,
            target_id=tinfo.obj.pk,
            target_user_id=tinfo.author_id,
            category_id=tinfo.category_id,
            post_id_ref=tinfo.post_id,
        )
    return reviewable


def _add_score(reviewable: Reviewable, weight: float, reason: str, *, is_report: bool = True) -> None:
    reasons = reviewable.reasons if reason in reviewable.reasons else [*reviewable.reasons, reason]
    Reviewable.objects.filter(pk=reviewable.pk).update(
        score=F("score") + weight,
        report_count=F("report_count") + (1 if is_report else 0),
        reasons=reasons,
        updated_at=timezone.now(),
    )
    reviewable.refresh_from_db(fields=["score", "report_count", "reasons", "updated_at"])


def _maybe_auto_hide(reviewable: Reviewable, tinfo: targets.TargetInfo) -> None:
    threshold = settings.MODERATION_AUTO_HIDE_SCORE
    if threshold <= 0 or reviewable.auto_hidden or reviewable.score < threshold:
        return
    obj = tinfo.obj
    if not isinstance(obj, (Post, Comment)) or obj.status != ContentStatus.PUBLISHED:
        return
    why = "Hidden automatically after reports; a moderator will review it."
    setter = content.set_post_status if isinstance(obj, Post) else content.set_comment_status
    before, after = setter(obj, ContentStatus.HIDDEN, by=None, reason=why)
    Reviewable.objects.filter(pk=reviewable.pk).update(auto_hidden=True)
    reviewable.auto_hidden = True
    audit.record(
        actor=None,
        action=A.AUTO_HIDE,
        target_type=tinfo.target_type,
        target_id=obj.pk,
        target_user_id=tinfo.author_id,
        reviewable=reviewable,
        reason=f"Report score {reviewable.score:.2f} reached {threshold:.2f}.",
        before=before,
        after=after,
    )
    events.emit(
        ContentModerated(
            target_type=tinfo.target_type,
            target_id=obj.pk,
            author_id=tinfo.author_id,
            action=A.AUTO_HIDE,
            reason=why,
            moderator_id=None,
            post_id=tinfo.post_id,
        )
    )


@transaction.atomic
def flag_for_review(*, target_type: str, target_id: int, reason: str, note: str = "") -> Reviewable:
    """A system flag (watched word, a new user's post held for approval): puts the item in the
    queue without a reporter. `reason` is one of SYSTEM_REASONS."""
    if reason not in SYSTEM_REASONS:
        raise ValueError(f"unknown system reason {reason!r}")
    obj = targets.load(target_type, target_id)
    if obj is None:
        raise NotFound()
    tinfo = targets.info(target_type, obj)
    lock_target(target_type, target_id)
    kind = ReviewableKind.QUEUED if reason == "needs_approval" else ReviewableKind.FLAGGED
    reviewable = _pending_reviewable(tinfo, kind=kind)
    _add_score(reviewable, settings.MODERATION_SYSTEM_FLAG_SCORE, reason, is_report=False)
    return reviewable
