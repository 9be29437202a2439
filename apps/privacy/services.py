"""Writes of the privacy app: account deletion and the IP retention job.

Account deletion, in one transaction:
1. re-authentication (password; or, for an account without one, the typed username plus a
   sign-in from the last 10 minutes),
2. `detach_public_content`: public content handed to the shared "deleted user" account,
3. every area's `erase` (private rows deleted, the user row anonymised last, tokens ended),
4. an `AccountErasure` audit row (no personal data) and an `AccountDeleted` event on commit.
Steps 2-4 run in the audited row-level-security system context (`privacy:account-erasure`).
Retrying is safe: a tombstone (inactive, `deleted_<id>`) re-runs the erasers, which find nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import AuthSession, Profile, ProfileVisibility, User
from apps.accounts.services import password_matches
from apps.core import rls
from apps.core.events import emit
from apps.core.exceptions import PermissionDeniedError, ValidationFailed
from apps.privacy.events import AccountDeleted
from apps.privacy.models import AccountErasure, IpScrubRun
from apps.privacy.registry import registry

logger = logging.getLogger(__name__)

RECENT_LOGIN = dt.timedelta(minutes=10)


# --- the "deleted user" account ------------------------------------------------------------------
def ghost_user() -> User:
    """The one shared account that deleted people's posts and comments are attributed to. Its
    username cannot be registered (brackets fail the username rule), it cannot sign in, and its
    profile is hidden; it renders as an ordinary public user, so the API's shapes hold."""
    name = settings.PRIVACY_GHOST_USERNAME
    ghost = User.objects.filter(username=name).first()
    if ghost is not None:
        return ghost
    try:
        with transaction.atomic():
            ghost = User(username=name, email="", is_active=False)
            ghost.set_unusable_password()
            ghost.save()
    except IntegrityError:  # created concurrently
        return User.objects.get(username=name)
    Profile.objects.filter(user=ghost).update(
        display_name=settings.PRIVACY_GHOST_DISPLAY_NAME, visibility=ProfileVisibility.NOBODY
    )
    return ghost


def is_tombstone(user: User) -> bool:
    return not user.is_active and user.username == f"deleted_{user.pk}"


# --- re-authentication ---------------------------------------------------------------------------
def _confirm(*, user: User, password: str | None, confirm: str | None, session_id: str | None) -> str:
    """Password accounts: the password (wrong ones count toward the account's failed-login
    limit). Accounts without one (wallet or OAuth only): the username typed out, from a session
    signed in within the last 10 minutes. Returns the method used."""
    if user.has_usable_password():
        if not password:
            message = "Enter your password to delete your account."
            raise ValidationFailed(message, details={"password": [message]})
        if not password_matches(user=user, password=password):
            message = "Your password is wrong."
            raise ValidationFailed(message, details={"password": [message]})
        return "password"
    if (confirm or "").strip().lower() != user.username.lower():
        message = "Type your username exactly to confirm the deletion."
        raise ValidationFailed(message, details={"confirm": [message]})
    session = AuthSession.objects.filter(pk=session_id, user=user).first() if session_id else None
    if session is None or session.created_at < timezone.now() - RECENT_LOGIN:
        raise PermissionDeniedError("Sign in again (within 10 minutes) to delete your account.")
    return "confirm"


# --- deletion --------------------------------------------------------------------------------------
def detach_public_content(*, user: User) -> dict[str, dict]:
    """Cross-user writes of a deletion: every area's `detach` (content handed to the ghost
    account)."""
    ghost = ghost_user()
    return {area.section: area.detach(user, ghost) for area in registry.ordered() if area.detach is not None}


def erase_user_data(*, user: User) -> dict[str, dict]:
    """Every area's `erase`, in order (accounts last)."""
    return {area.section: area.erase(user) for area in registry.ordered()}


@transaction.atomic
def account_delete(
    *, user: User, password: str | None = None, confirm: str | None = None, session_id: str | None = None
) -> AccountErasure:
    """Close `user`'s account and erase their personal data (see the module docstring)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if is_tombstone(locked):
        # A concurrent duplicate request that waited on the lock: the first one did the work.
        done = AccountErasure.objects.filter(user_id=locked.pk).first()
        if done is not None:
            return done
    method = _confirm(user=locked, password=password, confirm=confirm, session_id=session_id)
    return _erase(locked, method=method)


def _erase(user: User, *, method: str) -> AccountErasure:
    # Closing an account is system work once the person has proven who they are: it hands content
    # to the shared ghost account and deletes rows only the system writes (points, achievements).
    with rls.system_context("privacy:account-erasure"):
        return _erase_as_system(user, method=method)


def _erase_as_system(user: User, *, method: str) -> AccountErasure:
    user_id = user.pk
    counts = detach_public_content(user=user)
    for section, part in erase_user_data(user=user).items():
        counts[section] = {**counts.get(section, {}), **part}
    now = timezone.now()
    record, created = AccountErasure.objects.get_or_create(
        user_id=user_id, defaults={"method": method, "counts": counts, "requested_at": now, "completed_at": now}
    )
    if not created:
        AccountErasure.objects.filter(pk=record.pk).update(runs=F("runs") + 1, completed_at=now)
    emit(AccountDeleted(user_id=user_id))
    logger.info("account %s deleted (%s)", user_id, "first run" if created else "retry")
    return record


@transaction.atomic
def account_erase_retry(*, user_id: int) -> AccountErasure | None:
    """Re-run the erasers on an account already closed (operators, after a partial failure
    elsewhere: a storage outage that left files, say). No re-authentication: the account is
    already a tombstone. Returns None when the account is not a closed one."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or not is_tombstone(user):
        return None
    return _erase(user, method="retry")


# --- IP retention ----------------------------------------------------------------------------------
# Every stored client IP: (table, ip column, the time that starts its retention clock). A test
# fails when a model gains a GenericIPAddressField that is not listed here.
IP_COLUMNS: list[tuple[str, str, str]] = [
    ("accounts.AuthSession", "ip", "last_used_at"),
    ("accounts.AccountAuditLog", "ip", "created_at"),
]

# IPv4 keeps its /24, IPv6 its /48: enough for abuse patterns by network, not a person's address.
_TRUNCATED = "({col} & netmask(set_masklen({col}, CASE WHEN family({col}) = 4 THEN {v4} ELSE {v6} END)))"


def ip_truncate_sql(column: str) -> str:
    return _TRUNCATED.format(
        col=column, v4=int(settings.IP_RETENTION_V4_PREFIX), v6=int(settings.IP_RETENTION_V6_PREFIX)
    )


@transaction.atomic
def ip_scrub(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Truncate every stored IP older than IP_RETENTION_DAYS. Idempotent: rows already
    truncated are skipped (their value equals its own truncation), so a daily run touches only
    the rows that crossed the cutoff since the last one. Returns rows changed per table."""
    from django.apps import apps

    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.IP_RETENTION_DAYS)
    counts: dict[str, int] = {}
    for label, ip_field, time_field in IP_COLUMNS:
        model = apps.get_model(label)
        table = connection.ops.quote_name(model._meta.db_table)
        col = connection.ops.quote_name(model._meta.get_field(ip_field).column)
        when = connection.ops.quote_name(model._meta.get_field(time_field).column)
        truncated = ip_truncate_sql(col)
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET {col} = {truncated} WHERE {when} < %s AND {col} IS NOT NULL"  # noqa: S608
                f" AND {col} <> {truncated}",  # identifiers from model metadata, values as parameters
                [cutoff],
            )
            counts[label] = cur.rowcount
    IpScrubRun.objects.create(cutoff=cutoff, counts=counts)
    return counts
