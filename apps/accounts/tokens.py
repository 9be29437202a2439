"""Issuing the platform's own JWT pair. Every way in (password, OAuth, wallet) ends here:
`issue_token_pair(user, request=request)`; keep this signature stable.

Each call opens a session (a refresh-token family, table `sessions`). Refresh tokens rotate on
every use; presenting one that was already used revokes the whole family, so the thief's and the
owner's newest tokens both die and the owner has to sign in again (API.md) -- except within
AUTH_REFRESH_GRACE_SECONDS of its rotation: two tabs refreshing together, or a response lost on the
way, present the token just rotated away, and get the family's current refresh token back (same
`jti`, new access token) instead of ending the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.authentication import TokenRejected
from apps.accounts.events import SessionsEnded
from apps.accounts.models import AuthSession, User
from apps.core import rls
from apps.core.events import emit
from apps.core.exceptions import KeepsWrites


def _device_label(user_agent: str) -> str:
    ua = user_agent or ""
    browser = next(
        (name for pat, name in _BROWSERS if re.search(pat, ua)),
        "Unknown client",
    )
    os_name = next((name for pat, name in _SYSTEMS if re.search(pat, ua)), "")
    return f"{browser} on {os_name}" if os_name else browser


_BROWSERS = [
    (r"Edg/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/", "Firefox"),
    (r"Chrome/", "Chrome"),
    (r"Safari/", "Safari"),
    (r"okhttp|Dalvik", "Android app"),
    (r"CFNetwork|Darwin", "iOS app"),
    (r"python-|curl/|httpx", "Script"),
]
_SYSTEMS = [
    (r"Android", "Android"),
    (r"iPhone|iPad|iOS", "iOS"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"Linux", "Linux"),
]


def _request_meta(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    from apps.core.client_address import client_address

    return client_address(request, default=None), request.META.get("HTTP_USER_AGENT", "")[:400]


def _mint(user: User, session: AuthSession, *, jti: str | None = None) -> tuple[str, str, str]:
    refresh = RefreshToken.for_user(user)
    refresh["ver"] = user.token_version
    refresh["sid"] = str(session.pk)
    if jti:  # the grace window: the family's current token again, not a new generation
        refresh["jti"] = jti
    access = refresh.access_token  # copies sub, ver, sid
    return str(access), str(refresh), str(refresh["jti"])


def issue_token_pair(user: User, *, request=None, method: str = "password") -> dict[str, str]:
    ip, user_agent = _request_meta(request)
    now = timezone.now()
    session = AuthSession(
        user=user,
        method=method,
        ip=ip,
        user_agent=user_agent,
        device=_device_label(user_agent),
        created_at=now,
        last_used_at=now,
        expires_at=now + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"],
    )
    access, refresh, jti = _mint(user, session)
    session.current_jti = jti
    # The user has just proven who they are: the request acts for them from here on (RLS).
    with rls.acting_as(user.pk):
        session.save()
    if request is not None:
        request.auth_session_id = str(session.pk)
    return {"access": access, "refresh": refresh}


class FamilyRevoked(KeepsWrites, TokenRejected):
    """A replayed refresh token: the 401 must not roll back the revocation of its family."""


def _in_grace(session: AuthSession, jti: str | None) -> bool:
    grace = settings.AUTH_REFRESH_GRACE_SECONDS
    return bool(
        grace > 0
        and jti
        and session.previous_jti == jti
        and session.rotated_at is not None
        and (timezone.now() - session.rotated_at).total_seconds() <= grace
    )


@dataclass
class Rotated:
    user: User
    tokens: dict[str, str]


def parse_refresh(raw: str) -> RefreshToken:
    if not isinstance(raw, str) or not raw:
        raise TokenRejected("The refresh token is invalid.", "token_invalid")
    try:
        return RefreshToken(raw)
    except ExpiredTokenError:
        raise TokenRejected("The refresh token has expired.", "token_expired") from None
    except TokenError:
        raise TokenRejected("The refresh token is invalid.", "token_invalid") from None


def rotate_refresh_token(raw: str, *, request=None) -> Rotated:
    token = parse_refresh(raw)
    sid, jti = token.get("sid"), token.get("jti")
    reused = ""
    try:
        subject = int(token["sub"])
    except (KeyError, TypeError, ValueError):
        raise TokenRejected("The refresh token is invalid.", "token_invalid") from None
    with transaction.atomic():
        # Signed by us: the database may show this subject's sessions (RLS), and only theirs.
        rls.set_user(subject)
        session = AuthSession.objects.select_for_update().select_related("user").filter(pk=sid).first() if sid else None
        if session is None or str(session.user_id) != str(token.get("sub")):
            raise TokenRejected("The refresh token is invalid.", "token_invalid")
        if session.revoked_at is not None:
            raise TokenRejected("This session has ended.", "token_invalid")
        grace = session.current_jti != jti and _in_grace(session, jti)
        if session.current_jti != jti and not grace:
            # A used token came back after its grace window: someone holds a copy. End the family.
            session.revoked_at = timezone.now()
            session.revoked_reason = "reuse"
            session.save(update_fields=["revoked_at", "revoked_reason"])
            session_ended(user_id=session.user_id, session_id=session.pk, reason="reuse")
            reused = "token_reused"
        else:
            user = session.user
            if not user.in_good_standing or int(token.get("ver", -1)) != user.token_version:
                session.revoked_at = timezone.now()
                session.revoked_reason = "account"
                session.save(update_fields=["revoked_at", "revoked_reason"])
                reused = "token_invalid"
            elif grace:
                # Answered with the current generation; nothing rotates, so both tabs end up equal.
                access, refresh, _ = _mint(user, session, jti=session.current_jti)
            else:
                access, refresh, new_jti = _mint(user, session)
                ip, user_agent = _request_meta(request)
                session.previous_jti, session.rotated_at = session.current_jti, timezone.now()
                session.current_jti = new_jti
                session.generation += 1
                session.last_used_at = session.rotated_at
                session.expires_at = session.last_used_at + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
                if ip:
                    session.ip = ip
                if user_agent:
                    session.user_agent, session.device = user_agent, _device_label(user_agent)
                session.save()
    if reused == "token_reused":
        raise FamilyRevoked("This refresh token was already used; the session has been ended.", "token_reused")
    if reused:
        raise FamilyRevoked("This session has ended.", "token_invalid")
    return Rotated(user=user, tokens={"access": access, "refresh": refresh})


def revoke_sessions(*, user: User, reason: str, except_session_id: str | None = None) -> int:
    qs = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if except_session_id:
        qs = qs.exclude(pk=except_session_id)
    ended = qs.update(revoked_at=timezone.now(), revoked_reason=reason)
    emit(SessionsEnded(user_id=user.pk, reason=reason, except_session_id=str(except_session_id or "") or None))
    return ended


def session_ended(*, user_id: int, session_id: str, reason: str) -> None:
    """Tell the rest of the platform (open sockets) that one session just ended."""
    emit(SessionsEnded(user_id=user_id, reason=reason, session_ids=(str(session_id),)))


def csrf_token_for(session_id: str) -> str:
    """The cookie mode's CSRF value: signed from the session id with the secret key, so it stays
    the same for the whole login (every rotation, every tab), needs no storage, and only someone
    who was handed it (by the login/refresh answer or GET /api/auth/csrf, which CORS lets only
    the allowed origins read) can send it."""
    return salted_hmac("successkid.accounts.csrf", str(session_id), algorithm="sha256").hexdigest()[:43]


def session_id_of(raw_refresh: str) -> str:
    """The session a refresh token belongs to (its signature, audience and expiry checked)."""
    sid = parse_refresh(raw_refresh).get("sid")
    if not sid:
        raise TokenRejected("The refresh token is invalid.", "token_invalid")
    return str(sid)
