"""Login, logout and sessions, and the standing check every way in applies."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import AuthSession, User
from apps.accounts.tokens import revoke_sessions, session_ended
from apps.core import autocommit, limits, rls
from apps.core.client_address import client_address
from apps.core.exceptions import NotAuthenticated, NotFound, ValidationFailed

from .rules import PERMANENT, AccountSuspendedError

# --- login, logout, sessions -----------------------------------------------------------------
_DUMMY_HASH = None


def _burn_password_time(password: str) -> None:
    # Unknown account: spend the time a real check would, so timing does not enumerate accounts.
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("not-a-real-password")
    User(password=_DUMMY_HASH).check_password(password)


def password_matches(*, user: User, password: str | None) -> bool:
    """Every password check (sign-in, the re-checks of password change, email change and account
    deletion, the admin's login form) goes through here, so they share one per-account lockout
    (`login_account`): the try is counted before the password is compared (429 once over the
    limit, even for the right password), and a right password clears the count."""
    key = f"user:{user.pk}"
    limits.hit("login_account", key, message="Too many failed sign-in attempts for this account. Try again later.")
    if not user.check_password(password or ""):
        return False
    limits.clear("login_account", key)
    return True


def authenticate_login(*, login: str, password: str, request=None) -> User:
    login = (login or "").strip()
    ip = client_address(request)
    limits.hit("login_ip", ip)
    user = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).order_by("id").first()
    if user is None:
        limits.hit("login_account", f"login:{login.lower()}")
        _burn_password_time(password or "")
        raise NotAuthenticated("Wrong login or password.")
    if not password_matches(user=user, password=password) or not user.is_active:
        raise NotAuthenticated("Wrong login or password.")
    limits.undo("login_ip", ip)  # a sign-in that worked is not a failure from this address
    if user.is_suspended:
        _raise_suspended(user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


def profile_seen(*, user_id: int) -> None:
    """Profile.last_seen_at (active users' wallet refresh, the digest's "came back since"): one
    write per user a minute at most, the first authenticated request of each minute, on the
    limiter's own connection (the visit happened even if the request then fails). The limiter is
    asked once per user and minute in each process, not on every signed-in request."""
    if limits.first_in_window("last_seen", f"u{user_id}"):
        # SKIP LOCKED: never wait for a lock (it may be held by this very request's transaction,
        # on the other connection); a skipped minute is written on a later request.
        autocommit.execute(
            "UPDATE profiles SET last_seen_at = now() WHERE user_id = "
            "(SELECT user_id FROM profiles WHERE user_id = %s FOR UPDATE SKIP LOCKED)",
            [user_id],
        )


def require_good_standing(user: User) -> None:
    """Refuse a way in to an account that may not act: deleted, suspended or banned (403
    `account_suspended`, with `until`, `banned` and the reason for a suspension)."""
    if not user.is_active:
        raise AccountSuspendedError("This account is not active.")
    if user.is_suspended:
        _raise_suspended(user)


def _raise_suspended(user: User) -> None:
    until = None if user.suspended_until >= PERMANENT else user.suspended_until.isoformat().replace("+00:00", "Z")
    raise AccountSuspendedError(
        "This account is banned." if until is None else f"This account is suspended until {until}.",
        details={"until": until, "banned": until is None, "reason": user.suspension_reason},
    )


def logout(*, refresh_token: str | None, user: User | None, all_sessions: bool = False) -> int:
    """Revoke the presented refresh token's session, or with all_sessions every session of the
    account (and every access token, by moving the token version on)."""
    from apps.accounts.tokens import parse_refresh

    target_user, sid = user, None
    if refresh_token:
        token = parse_refresh(refresh_token)
        sid = token.get("sid")
        if user is None:  # signed by us: act for its subject (RLS) to find its session
            try:
                rls.set_user(int(token["sub"]))
            except (KeyError, TypeError, ValueError):
                raise NotAuthenticated("The refresh token is invalid.", code="token_invalid") from None
        session = AuthSession.objects.filter(pk=sid).select_related("user").first() if sid else None
        if session is None or (user is not None and session.user_id != user.pk):
            raise NotAuthenticated("The refresh token is invalid.", code="token_invalid")
        target_user = session.user
    if target_user is None:
        raise NotAuthenticated()
    if all_sessions:
        with transaction.atomic():
            User.objects.filter(pk=target_user.pk).update(token_version=F("token_version") + 1)
            return revoke_sessions(user=target_user, reason="logout_all")
    if sid is None:
        sid = getattr(target_user, "auth_session_id", None)
    if sid is None:
        raise ValidationFailed("Send the refresh token to end.", details={"refresh": ["This field is required."]})
    ended = AuthSession.objects.filter(pk=sid, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="logout"
    )
    session_ended(user_id=target_user.pk, session_id=sid, reason="logout")
    return ended


def session_revoke(*, user: User, session_id: str) -> None:
    try:
        uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound() from None
    updated = AuthSession.objects.filter(pk=session_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="revoked"
    )
    if not updated:
        raise NotFound()
    session_ended(user_id=user.pk, session_id=session_id, reason="revoked")


SESSION_RETENTION = dt.timedelta(days=30)


def sessions_purge(*, now: dt.datetime | None = None) -> int:
    """Forget sessions that ended (revoked or expired) more than 30 days ago. Idempotent."""
    cutoff = (now or timezone.now()) - SESSION_RETENTION
    deleted, _ = AuthSession.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
    return deleted
