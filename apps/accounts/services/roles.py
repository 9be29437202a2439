"""Roles, suspensions and reinstatements, each written to the audit trail."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.accounts.access import ROLE_RANK, role_of
from apps.accounts.events import RoleChanged, UserReinstated, UserSuspended
from apps.accounts.models import AccountAuditLog, AuditAction, Role, RoleAssignment, User
from apps.accounts.tokens import revoke_sessions
from apps.core.events import emit
from apps.core.exceptions import PermissionDeniedError

from .rules import PERMANENT, _fail


# --- roles, suspensions, audit ---------------------------------------------------------------
def _outranks(actor: User | None, target: User) -> bool:
    if actor is None or actor.is_superuser:
        return True
    return ROLE_RANK.get(role_of(actor), -1) > ROLE_RANK.get(role_of(target), -1)


@transaction.atomic
def role_assign(*, user: User, role: str, by: User | None, reason: str = "", ip: str | None = None) -> User:
    if role not in Role.values:
        raise _fail("role", f"Role must be one of: {', '.join(Role.values)}.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if by is not None and not by.is_superuser and by.pk != user.pk and not _outranks(by, user):
        raise PermissionDeniedError("You can't change the role of someone at or above your own rank.")
    old = user.role
    if old == role:
        return user
    user.role = role
    user.is_staff = role in (Role.MODERATOR, Role.ADMIN) or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    RoleAssignment.objects.create(user=user, role=role, previous_role=old, assigned_by=by, reason=reason[:500])
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.ROLE_CHANGED,
        data={"from": old, "to": role},
        reason=reason[:500],
        ip=ip,
    )
    emit(RoleChanged(user_id=user.pk, by_user_id=by.pk if by else None, old_role=old, new_role=role))
    return user


@transaction.atomic
def user_suspend(
    *, user: User, by: User | None, until: dt.datetime | None, reason: str = "", ip: str | None = None
) -> User:
    """`until=None` is a permanent ban. Every token of the account stops at once."""
    if by is not None and by.pk == user.pk:
        raise PermissionDeniedError("You can't suspend yourself.")
    if not _outranks(by, user):
        raise PermissionDeniedError("You can't suspend someone at or above your own rank.")
    if until is not None and until <= timezone.now():
        raise _fail("until", "The end of a suspension must be in the future.")
    user = User.objects.select_for_update().get(pk=user.pk)
    user.suspended_until = until or PERMANENT
    user.suspension_reason = reason[:500]
    user.suspended_by = by
    user.token_version += 1
    user.save(update_fields=["suspended_until", "suspension_reason", "suspended_by", "token_version"])
    revoke_sessions(user=user, reason="suspended")
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.BANNED if until is None else AuditAction.SUSPENDED,
        data={"until": None if until is None else until.isoformat()},
        reason=reason[:500],
        ip=ip,
    )
    emit(
        UserSuspended(
            user_id=user.pk,
            by_user_id=by.pk if by else None,
            until=None if until is None else until.isoformat().replace("+00:00", "Z"),
            reason=reason[:500],
        )
    )
    return user


@transaction.atomic
def user_unsuspend(*, user: User, by: User | None, reason: str = "", ip: str | None = None) -> User:
    if not _outranks(by, user):
        raise PermissionDeniedError("You can't change the standing of someone at or above your own rank.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.suspended_until is None:
        return user
    previous = user.suspended_until
    # Only the standing changes: a deleted account (is_active=False) stays deleted.
    user.suspended_until = None
    user.suspension_reason = ""
    user.suspended_by = None
    user.save(update_fields=["suspended_until", "suspension_reason", "suspended_by"])
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.UNSUSPENDED,
        data={"was_until": previous.isoformat()},
        reason=reason[:500],
        ip=ip,
    )
    emit(UserReinstated(user_id=user.pk, by_user_id=by.pk if by else None))
    return user
