"""Every moderation write: reports, the queue (scores, auto-hide, claims) and moderator actions.

Moderators act either on a reviewable (`reviewable_act`, which also closes it and judges its
reports) or straight on a target (`moderate`, e.g. pinning a post nobody reported). Both go through
`_apply`, which changes the content, writes one audit row and emits ContentModerated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.permissions import ROLE_RANK, role_of, user_can
from apps.core import events, limits
from apps.core.exceptions import (
    Conflict,
    NotFound,
    PermissionDeniedError,
    ValidationFailed,
)
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation import audit, content, targets
from apps.moderation.events import ContentModerated, ReportCreated, ReviewableResolved
from apps.moderation.models import (
    SYSTEM_REASONS,
    AuditAction,
    Report,
    ReporterStats,
    ReportReason,
    ReportStatus,
    Reviewable,
    ReviewableKind,
    ReviewableStatus,
    TargetType,
    WatchedWord,
    WatchedWordAction,
)
from apps.moderation.scoring import reporter_weight

A = AuditAction

# What each action may be applied to.
ACTIONS_BY_TARGET: dict[str, set[str]] = {
    "post": {A.HIDE, A.REMOVE, A.RESTORE, A.APPROVE, A.LOCK, A.UNLOCK, A.PIN, A.UNPIN, A.WARN, A.SUSPEND, A.BAN},
    "comment": {A.HIDE, A.REMOVE, A.RESTORE, A.APPROVE, A.WARN, A.SUSPEND, A.BAN},
    "user": {A.WARN, A.SUSPEND, A.BAN, A.UNSUSPEND},
}
REVIEWABLE_ONLY = {A.DISMISS, A.AGREE, A.IGNORE}
USER_ACTIONS = {A.SUSPEND, A.BAN, A.UNSUSPEND}
# Actions that leave a reviewable open (they do not judge the reports).
NON_RESOLVING = {A.LOCK, A.UNLOCK, A.PIN, A.UNPIN}

# How an action closes a reviewable, per kind.
RESOLUTION: dict[str, dict[str, str]] = {
    ReviewableKind.FLAGGED: {
        **dict.fromkeys([A.HIDE, A.REMOVE, A.WARN, A.SUSPEND, A.BAN, A.AGREE], ReviewableStatus.APPROVED),
        **dict.fromkeys([A.RESTORE, A.APPROVE, A.DISMISS, A.UNSUSPEND], ReviewableStatus.REJECTED),
        A.IGNORE: ReviewableStatus.IGNORED,
    },
    ReviewableKind.QUEUED: {
        **dict.fromkeys([A.APPROVE, A.RESTORE], ReviewableStatus.APPROVED),
        **dict.fromkeys([A.HIDE, A.REMOVE, A.WARN, A.SUSPEND, A.BAN, A.DISMISS], ReviewableStatus.REJECTED),
        A.IGNORE: ReviewableStatus.IGNORED,
    },
}
REPORT_STATUS = {
    ReviewableStatus.APPROVED: ReportStatus.AGREED,
    ReviewableStatus.REJECTED: ReportStatus.REJECTED,
    ReviewableStatus.IGNORED: ReportStatus.IGNORED,
}
STATUS_FOR = {
    A.HIDE: ContentStatus.HIDDEN,
    A.REMOVE: ContentStatus.REMOVED,
    A.RESTORE: ContentStatus.PUBLISHED,
    A.APPROVE: ContentStatus.PUBLISHED,
}


def _lock_target(target_type: str, target_id: int) -> None:
    """Serialise work on one target (reports arriving together, two moderators acting at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"moderation:{target_type}:{target_id}"])


# --- Reports ---------------------------------------------------------------------------------


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

    _lock_target(target_type, target_id)
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
    _lock_target(target_type, target_id)
    kind = ReviewableKind.QUEUED if reason == "needs_approval" else ReviewableKind.FLAGGED
    reviewable = _pending_reviewable(tinfo, kind=kind)
    _add_score(reviewable, settings.MODERATION_SYSTEM_FLAG_SCORE, reason, is_report=False)
    return reviewable


# --- Claims ----------------------------------------------------------------------------------


def _claim_expiry() -> datetime:
    return timezone.now() - timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)


def _require_moderator(user: User, permission: str = "content.moderate") -> None:
    if not user_can(user, permission):
        raise PermissionDeniedError()


@transaction.atomic
def reviewable_claim(*, reviewable_id: int, moderator: User) -> Reviewable:
    _require_moderator(moderator)
    now = timezone.now()
    updated = Reviewable.objects.filter(
        Q(claimed_by__isnull=True) | Q(claimed_at__lt=_claim_expiry()) | Q(claimed_by=moderator),
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
    _require_moderator(moderator)
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


def expire_claims() -> int:
    return Reviewable.objects.filter(claimed_at__lt=_claim_expiry()).update(claimed_by=None, claimed_at=None)


# --- Actions ---------------------------------------------------------------------------------


def _check_can_act_on_user(actor: User, target: User) -> None:
    if target.pk == actor.pk:
        raise ValidationFailed("You cannot moderate your own account.")
    outranked = target.is_superuser or ROLE_RANK.get(role_of(target), 0) >= ROLE_RANK.get(role_of(actor), 0)
    if outranked and not actor.is_superuser:
        raise PermissionDeniedError("You cannot moderate a member of equal or higher rank.")


def _apply(
    *,
    actor: User,
    action: str,
    tinfo: targets.TargetInfo,
    reason: str,
    duration: timedelta | None,
    reviewable: Reviewable | None,
) -> None:
    obj = tinfo.obj
    audit_type, audit_id, author_id = tinfo.target_type, obj.pk, tinfo.author_id
    before: dict = {}
    after: dict = {}
    if action in STATUS_FOR:
        status = STATUS_FOR[action]
        setter = content.set_post_status if isinstance(obj, Post) else content.set_comment_status
        before, after = setter(obj, status, by=actor, reason=reason)
    elif action in (A.LOCK, A.UNLOCK):
        before, after = content.set_post_flags(obj, is_locked=action == A.LOCK)
    elif action in (A.PIN, A.UNPIN):
        before, after = content.set_post_flags(obj, is_pinned=action == A.PIN)
    elif action in USER_ACTIONS or action == A.WARN:
        user = obj if isinstance(obj, User) else User.objects.filter(pk=author_id).first()
        if user is None:
            raise NotFound("The author no longer exists.")
        if action != A.WARN:
            if not user_can(actor, "users.suspend"):
                raise PermissionDeniedError("You may not suspend users.")
            _check_can_act_on_user(actor, user)
        else:
            if user.pk == actor.pk:
                raise ValidationFailed("You cannot warn yourself.")
        audit_type, audit_id, author_id = "user", user.pk, user.pk
        if action == A.SUSPEND:
            before, after = content.suspend_user(user, until=timezone.now() + duration, by=actor, reason=reason)
        elif action == A.BAN:
            before, after = content.suspend_user(user, until=None, by=actor, reason=reason)
        elif action == A.UNSUSPEND:
            before, after = content.lift_suspension(user, by=actor, reason=reason)
        else:  # warn: the notification is the whole effect; the audit row is the record
            before = after = content.user_snapshot(user)
        if tinfo.target_type != "user":
            after = {**after, "via": {"target_type": tinfo.target_type, "target_id": obj.pk}}
    elif (
        action == A.DISMISS
        and reviewable is not None
        and reviewable.auto_hidden
        and isinstance(obj, (Post, Comment))
        and obj.status == ContentStatus.HIDDEN
    ):
        # The reports were wrong: undo the automatic hiding.
        setter = content.set_post_status if isinstance(obj, Post) else content.set_comment_status
        before, after = setter(obj, ContentStatus.PUBLISHED, by=actor, reason=reason)

    audit.record(
        actor=actor,
        action=action,
        target_type=audit_type,
        target_id=audit_id,
        target_user_id=author_id,
        reviewable=reviewable,
        reason=reason,
        before=before,
        after=after,
    )
    if action not in (A.AGREE, A.IGNORE) and author_id is not None:
        events.emit(
            ContentModerated(
                target_type=audit_type,
                target_id=audit_id,
                author_id=author_id,
                action=action,
                reason=reason,
                moderator_id=actor.pk,
                post_id=tinfo.post_id,
            )
        )


def _validate(action: str, target_type: str, duration: timedelta | None, *, on_reviewable: bool) -> None:
    allowed = ACTIONS_BY_TARGET.get(target_type, set()) | (REVIEWABLE_ONLY if on_reviewable else set())
    if action not in allowed:
        raise ValidationFailed(
            f"'{action}' cannot be applied to a {target_type}.",
            details={"action": [f"Allowed: {', '.join(sorted(allowed))}."]},
        )
    if action == A.SUSPEND:
        longest = timedelta(days=settings.MODERATION_MAX_SUSPENSION_DAYS)
        if duration is None or duration <= timedelta(0) or duration > longest:
            raise ValidationFailed(
                "A suspension needs a duration.",
                details={"duration_hours": [f"Between 1 hour and {settings.MODERATION_MAX_SUSPENSION_DAYS} days."]},
            )


@transaction.atomic
def moderate(
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    duration: timedelta | None = None,
) -> Reviewable | None:
    """Act on a target directly. A pending reviewable of that target is resolved by the action."""
    _require_moderator(actor)
    _validate(action, target_type, duration, on_reviewable=False)
    _lock_target(target_type, target_id)
    obj = targets.load(target_type, target_id)
    if obj is None:
        raise NotFound()
    reviewable = (
        Reviewable.objects.select_for_update()
        .filter(target_type=target_type, target_id=target_id, status=ReviewableStatus.PENDING)
        .first()
    )
    if reviewable is not None and action not in NON_RESOLVING:
        _check_claim(reviewable, actor)
    else:
        reviewable = None if action in NON_RESOLVING else reviewable
    _apply(
        actor=actor,
        action=action,
        tinfo=targets.info(target_type, obj),
        reason=reason,
        duration=duration,
        reviewable=reviewable,
    )
    if reviewable is not None:
        _resolve(reviewable, action=action, actor=actor)
    return reviewable


def _check_claim(reviewable: Reviewable, actor: User) -> None:
    if reviewable.claim_active and reviewable.claimed_by_id != actor.pk:
        raise Conflict("Another moderator has claimed this item.")


@transaction.atomic
def reviewable_act(
    *,
    reviewable_id: int,
    actor: User,
    action: str,
    reason: str = "",
    duration: timedelta | None = None,
) -> Reviewable:
    _require_moderator(actor)
    head = Reviewable.objects.filter(pk=reviewable_id).values("target_type", "target_id").first()
    if head is None:
        raise NotFound()
    _lock_target(head["target_type"], head["target_id"])
    reviewable = Reviewable.objects.select_for_update().get(pk=reviewable_id)
    if reviewable.status != ReviewableStatus.PENDING:
        raise Conflict("This item has already been resolved.")
    _check_claim(reviewable, actor)
    _validate(action, reviewable.target_type, duration, on_reviewable=True)
    if action not in NON_RESOLVING and action not in RESOLUTION[reviewable.kind]:
        raise ValidationFailed(f"'{action}' does not apply to an item held for approval.")
    obj = targets.load(reviewable.target_type, reviewable.target_id)
    if obj is None:
        # The content is gone (e.g. purged): nothing to act on but the queue item itself.
        if action not in (A.DISMISS, A.IGNORE, A.AGREE):
            raise NotFound("The reported item no longer exists.")
        _resolve(reviewable, action=action, actor=actor)
        return reviewable
    _apply(
        actor=actor,
        action=action,
        tinfo=targets.info(reviewable.target_type, obj),
        reason=reason,
        duration=duration,
        reviewable=reviewable,
    )
    if action not in NON_RESOLVING:
        _resolve(reviewable, action=action, actor=actor)
    return reviewable


def _resolve(reviewable: Reviewable, *, action: str, actor: User | None) -> None:
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


def bulk_act(*, reviewable_ids: list[int], actor: User, action: str, reason: str = "") -> tuple[int, list[str]]:
    """Admin bulk actions: each item in its own transaction so one conflict does not undo the rest.
    Returns (done, errors)."""
    done, errors = 0, []
    for rid in reviewable_ids:
        try:
            reviewable_act(reviewable_id=rid, actor=actor, action=action, reason=reason)
            done += 1
        except (Conflict, ValidationFailed, NotFound, PermissionDeniedError) as exc:
            errors.append(f"#{rid}: {exc.message}")
        except IntegrityError:
            errors.append(f"#{rid}: could not be updated")
    return done, errors


# --- Watched words ---------------------------------------------------------------------------


@transaction.atomic
def watched_word_add(*, actor: User, word: str, action: str) -> WatchedWord:
    from apps.moderation.spam import invalidate_watched_words

    _require_moderator(actor)
    word = " ".join(word.split()).lower()
    if not word or word.replace("*", "") == "":
        raise ValidationFailed("A watched word needs letters.", details={"word": ["Enter a word or phrase."]})
    if action not in WatchedWordAction.values:
        raise ValidationFailed(
            "Unknown action.", details={"action": [f"One of {', '.join(WatchedWordAction.values)}."]}
        )
    if WatchedWord.objects.filter(word__iexact=word).exists():
        raise Conflict("That word is already watched.")
    try:
        with transaction.atomic():
            ww = WatchedWord.objects.create(word=word, action=action, created_by=actor)
    except IntegrityError:
        raise Conflict("That word is already watched.") from None
    audit.record(
        actor=actor,
        action=A.WATCHED_WORD,
        target_type="user",
        target_id=actor.pk,
        after={"word": word, "action": action},
    )
    transaction.on_commit(invalidate_watched_words)
    return ww


@transaction.atomic
def watched_word_remove(*, actor: User, word_id: int) -> None:
    from apps.moderation.spam import invalidate_watched_words

    _require_moderator(actor)
    ww = WatchedWord.objects.filter(pk=word_id).first()
    if ww is None:
        raise NotFound()
    audit.record(
        actor=actor,
        action=A.WATCHED_WORD,
        target_type="user",
        target_id=actor.pk,
        before={"word": ww.word, "action": ww.action},
    )
    ww.delete()
    transaction.on_commit(invalidate_watched_words)


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
