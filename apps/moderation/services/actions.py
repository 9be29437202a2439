"""Moderator actions. Moderators act either on a queue item (`reviewable_act`, which also closes it
and judges its reports) or straight on a target (`moderate`, e.g. pinning a post nobody reported).
Both go through `_apply`, which changes the content, writes one audit row and emits ContentModerated."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.access import ROLE_RANK, role_of, user_can
from apps.accounts.models import User
from apps.core import events
from apps.core.exceptions import Conflict, NotFound, PermissionDeniedError, ValidationFailed
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation import audit, content, targets
from apps.moderation.events import ContentModerated
from apps.moderation.models import Reviewable, ReviewableStatus
from apps.moderation.services.queue import check_claim, resolve
from apps.moderation.services.rules import (
    ACTIONS_BY_TARGET,
    NON_RESOLVING,
    RESOLUTION,
    REVIEWABLE_ONLY,
    STATUS_FOR,
    USER_ACTIONS,
    A,
    lock_target,
    require_moderator,
)


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
    require_moderator(actor)
    _validate(action, target_type, duration, on_reviewable=False)
    lock_target(target_type, target_id)
    obj = targets.load(target_type, target_id)
    if obj is None:
        raise NotFound()
    reviewable = (
        Reviewable.objects.select_for_update()
        .filter(target_type=target_type, target_id=target_id, status=ReviewableStatus.PENDING)
        .first()
    )
    if reviewable is not None and action not in NON_RESOLVING:
        check_claim(reviewable, actor)
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
        resolve(reviewable, action=action, actor=actor)
    return reviewable


@transaction.atomic
def reviewable_act(
    *,
    reviewable_id: int,
    actor: User,
    action: str,
    reason: str = "",
    duration: timedelta | None = None,
) -> Reviewable:
    require_moderator(actor)
    head = Reviewable.objects.filter(pk=reviewable_id).values("target_type", "target_id").first()
    if head is None:
        raise NotFound()
    lock_target(head["target_type"], head["target_id"])
    reviewable = Reviewable.objects.select_for_update().get(pk=reviewable_id)
    if reviewable.status != ReviewableStatus.PENDING:
        raise Conflict("This item has already been resolved.")
    check_claim(reviewable, actor)
    _validate(action, reviewable.target_type, duration, on_reviewable=True)
    if action not in NON_RESOLVING and action not in RESOLUTION[reviewable.kind]:
        raise ValidationFailed(f"'{action}' does not apply to an item held for approval.")
    obj = targets.load(reviewable.target_type, reviewable.target_id)
    if obj is None:
        # The content is gone (e.g. purged): nothing to act on but the queue item itself.
        if action not in (A.DISMISS, A.IGNORE, A.AGREE):
            raise NotFound("The reported item no longer exists.")
        resolve(reviewable, action=action, actor=actor)
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
        resolve(reviewable, action=action, actor=actor)
    return reviewable


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
