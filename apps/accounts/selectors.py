"""Reads of the accounts area."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.access import user_can
from apps.accounts.models import AccountAuditLog, AuthSession, User
from apps.core.exceptions import ApplicationError, NotFound


def is_owner_or_admin(viewer, user: User) -> bool:
    return bool(getattr(viewer, "is_authenticated", False)) and (
        viewer.pk == user.pk or user_can(viewer, "users.view_private")
    )


def can_see_profile(viewer, user: User) -> bool:
    from apps.core.access import can_see_user  # the one rule for who sees a user and their activity

    return can_see_user(viewer, user)


def user_with_profile(*, user_id: int) -> User:
    """The user and their profile in one query: what every profile body is rendered from (read
    again after a write, so the body shows what was stored)."""
    return User.objects.select_related("profile").get(pk=user_id)


def user_get(*, user_id, viewer) -> User:
    """The user if the viewer may see their profile; otherwise 404 (never leak existence)."""
    try:
        user = user_with_profile(user_id=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not can_see_profile(viewer, user):
        raise NotFound()
    return user


def user_from_path(*, user_id: str, viewer) -> User:
    """The user a `/users/<id|me>/` path names, as `viewer` may see them ("me" needs a signed-in viewer)."""
    if user_id == "me":
        if not getattr(viewer, "is_authenticated", False):
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", status=401
            )
        return user_with_profile(user_id=viewer.pk)
    return user_get(user_id=user_id, viewer=viewer)


def user_get_any(*, user_id) -> User:
    try:
        return user_with_profile(user_id=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def session_list(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-last_used_at", "-created_at"
    )


def audit_list(*, target: User) -> QuerySet[AccountAuditLog]:
    return AccountAuditLog.objects.filter(target=target).select_related("actor__profile")


def public_user_fields(
    user_id: int,
    username: str,
    date_joined: dt.datetime,
    display_name: str,
    avatar_url: str,
    level: int,
    points: int,
    holder_tier: str,
    show_holdings: bool,
) -> dict:
    """API.md "user (public)" from its columns: the one public representation of a user, with its
    owner's privacy settings applied (PublicUserSerializer and public_users() render through
    this). The holder tier reads "none" unless the owner shows their holdings; `level` and `points`
    are the public standing (profiles.public_level/public_points, apps.core.access.counts_publicly)."""
    joined = date_joined.astimezone(dt.UTC).isoformat()
    return {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "avatar_url": avatar_url,
        "level": level,
        "points": points,
        "holder_tier": holder_tier if show_holdings else "none",
        "created_at": joined[:-6] + "Z" if joined.endswith("+00:00") else joined,
    }


def holdings_hidden_from(viewer, user: User) -> bool:
    """The owner's "show holdings" setting as the viewer meets it: anything that tells a holder
    tier (the public shape's `holder_tier`, a tier achievement) is hidden from everyone but the
    owner and admins unless the owner shows their holdings."""
    return not user.profile.show_holdings and not is_owner_or_admin(viewer, user)


_PUBLIC_USERS_SQL = """
    SELECT u.id, u.username, u.date_joined, p.display_name, p.avatar_url, p.public_level, p.public_points, p.holder_tier,
           p.show_holdings
    FROM users u JOIN profiles p ON p.user_id = u.id
    WHERE u.id = ANY(%s)
"""


def public_users(user_ids: Iterable[int]) -> dict[int, dict]:
    """Public users by id, rendered, in one statement. For a page of a hundred (a leaderboard) the
    ORM's model instances and its 100-placeholder IN list were a third of the request in a py-spy
    profile; this reads only the public columns (no password hash, settings or bio), with one
    array parameter."""
    ids = list(user_ids)
    if not ids:
        return {}
    with connections[router.db_for_read(User)].cursor() as cursor:
        cursor.execute(_PUBLIC_USERS_SQL, [ids])
        return {row[0]: public_user_fields(*row) for row in cursor.fetchall()}
