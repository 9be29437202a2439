"""JWT bearer authentication for the whole API (and the WebSocket): aud/iss checked, one algorithm,
and the contract's codes: `token_expired` vs `token_invalid`. A suspended or deactivated account,
or one whose token version moved on, stops working at once."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication as _SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import AuthSession, User
from apps.core import rls


class TokenRejected(AuthenticationFailed):
    def __init__(self, message: str, code: str):
        super().__init__({"detail": message, "code": code}, code=code)


def validate_access_token(raw: str | bytes) -> AccessToken:
    try:
        return AccessToken(raw)
    except ExpiredTokenError:
        raise TokenRejected("The access token has expired.", "token_expired") from None
    except TokenError:
        raise TokenRejected("The access token is invalid.", "token_invalid") from None


def user_for_token(token: AccessToken) -> User:
    """One query: the user, their profile, and whether the token's session (refresh family) is
    still live, so logout, a replayed refresh token or a password change end access tokens too."""
    sid = token.get("sid")
    if not sid:
        # Every token we issue names its session; one without could not be ended by logout.
        raise TokenRejected("The access token is invalid.", "token_invalid")
    try:
        subject = int(token["sub"])
    except (KeyError, ValueError, TypeError):
        raise TokenRejected("The access token is invalid.", "token_invalid") from None
    # The token's signature is good: from here on the database acts for its subject (RLS), so the
    # session lookup below can see that user's sessions and nobody else's.
    with rls.acting_as(subject):
        return _user_for_token(token, subject, sid)


def _user_for_token(token: AccessToken, subject: int, sid) -> User:
    try:
        qs = User.objects.select_related("profile")
        if sid:
            qs = qs.annotate(
                _session_live=Exists(AuthSession.objects.filter(pk=sid, user=OuterRef("pk"), revoked_at__isnull=True))
            )
        user = qs.get(pk=subject)
    except (User.DoesNotExist, KeyError, ValueError, TypeError):
        raise TokenRejected("The access token is invalid.", "token_invalid") from None
    except Exception as exc:  # a malformed sid (not a UUID)
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise TokenRejected("The access token is invalid.", "token_invalid") from None
        raise
    if not user.is_active:
        raise TokenRejected("This account is no longer active.", "token_invalid")
    if int(token.get("ver", 0)) != user.token_version:
        raise TokenRejected("This session has ended.", "token_invalid")
    if sid and not user._session_live:
        raise TokenRejected("This session has ended.", "token_invalid")
    if user.is_suspended:
        # The token is genuine; the account may not act. API.md: 403 `account_suspended`.
        until = user.suspended_until.isoformat().replace("+00:00", "Z") if user.suspended_until else None
        raise exceptions.PermissionDenied(f"This account is suspended until {until}.", code="account_suspended")
    user.auth_session_id = sid
    from apps.accounts.services import profile_seen

    profile_seen(user_id=user.pk)
    return user


class JWTAuthentication(_SimpleJWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        return validate_access_token(raw_token)

    def get_user(self, validated_token) -> User:
        return user_for_token(validated_token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
