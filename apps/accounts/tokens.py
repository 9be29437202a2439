"""Issuing the platform's own JWT pair. Every way in (password, OAuth, wallet) ends here:
`issue_token_pair(user, request=request)`; keep this signature stable.

Each call opens a session (a refresh-token family, table `sessions`). Refresh tokens rotate on
every use; presenting one that was already used revokes the whole family, so the thief's and the
owner's newest tokens both die and the owner has to sign in again (API.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.authentication import TokenRejected
from apps.accounts.models import AuthSession, User
from apps.core import rls
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


def _mint(user: User, session: AuthSession) -> tuple[str, str, str]:
    refresh = RefreshToken.for_user(user)
    refresh["ver"] = user.token_version
    refresh["sid"] = str(session.pk)
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
    reused = False
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
        if session.current_jti != jti:
            # A used token came back: someone holds a copy. End the whole family.
            session.revoked_at = timezone.now()
            session.revoked_reason = "reuse"
            session.save(update_fields=["revoked_at", "revoked_reason"])
            reused = True
        else:
            user = session.user
            if not user.in_good_standing or int(token.get("ver", -1)) != user.token_version:
                session.revoked_at = timezone.now()
                session.revoked_reason = "account"
                session.save(update_fields=["revoked_at", "revoked_reason"])
                reused = True
            else:
                access, refresh, new_jti = _mint(user, session)
                ip, user_agent = _request_meta(request)
                session.current_jti = new_jti
                session.generation += 1
                session.last_used_at = timezone.now()
                session.expires_at = session.last_used_at + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
                if ip:
                    session.ip = ip
                if user_agent:
                    session.user_agent, session.device = user_agent, _device_label(user_agent)
                session.save()
    if reused:
        raise FamilyRevoked("This refresh token was already used; the session has been ended.", "token_invalid")
    return Rotated(user=user, tokens={"access": access, "refresh": refresh})


def revoke_sessions(*, user: User, reason: str, except_session_id: str | None = None) -> int:
    qs = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if except_session_id:
        qs = qs.exclude(pk=except_session_id)
    return qs.update(revoked_at=timezone.now(), revoked_reason=reason)
