"""JWT bearer authentication for the whole API (and the WebSocket): aud/iss checked, one algorithm,
and the contract's codes: `token_expired` vs `token_invalid`. A suspended or deactivated account,
or one whose token version moved on, stops working at once."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication as _SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Profile, User
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
    """One round trip: the RLS context, then the user, their profile, and whether the token's
    session (refresh family) is still live, so logout, a replayed refresh token or a password
    change end access tokens too; a suspension, a ban or a role change counts on the next request.
    Nothing about the account is remembered between requests."""
    sid = token.get("sid")
    try:
        # Every token we issue names its session; one without could not be ended by logout.
        if not sid:
            raise ValueError
        session_id = uuid.UUID(str(sid))
        subject = int(token["sub"])
        if not 0 < subject < 2**63:  # a bigint key
            raise ValueError
    except (KeyError, ValueError, TypeError, AttributeError):
        raise TokenRejected("The access token is invalid.", "token_invalid") from None
    # The token's signature is good: from here on the database acts for its subject (RLS), so the
    # session lookup can see that user's sessions and nobody else's.
    with rls.acting_as_fetching(subject, _viewer_query().sql, [session_id, subject], model=User) as rows:
        if not rows:
            raise TokenRejected("The access token is invalid.", "token_invalid")
        user, session_live = _viewer_query().build(rows[0])
        _check_standing(token, user, session_live)
        user.auth_session_id = sid
        from apps.accounts.services import profile_seen

        profile_seen(user_id=user.pk)
        return user


def _check_standing(token: AccessToken, user: User, session_live: bool) -> None:
    if not user.is_active:
        raise TokenRejected("This account is no longer active.", "token_invalid")
    if int(token.get("ver", 0)) != user.token_version:
        raise TokenRejected("This session has ended.", "token_invalid")
    if not session_live:
        raise TokenRejected("This session has ended.", "token_invalid")
    if user.is_suspended:
        # The token is genuine; the account may not act. API.md: 403 `account_suspended`.
        until = user.suspended_until.isoformat().replace("+00:00", "Z") if user.suspended_until else None
        raise exceptions.PermissionDenied(f"This account is suspended until {until}.", code="account_suspended")


@dataclass(frozen=True)
class _ViewerQuery:
    """The user, their profile and the session check as one hand-written statement, with the
    instances built from the row as `select_related("profile")` builds them (every concrete field,
    Django's converters): composing that ORM query cost more CPU than the rest of the sign-in."""

    sql: str
    user_attnames: list[str]
    profile_attnames: list[str]
    converters: tuple  # (column index, converter functions, column expression)

    def build(self, row: tuple) -> tuple[User, bool]:
        """(user with `profile` cached, is the session live) from a row of `sql`."""
        connection = connections[DEFAULT_DB_ALIAS]
        values = list(row[:-1])
        for i, funcs, expression in self.converters:
            for convert in funcs:
                values[i] = convert(values[i], expression, connection)
        n = len(self.user_attnames)
        user = User.from_db(DEFAULT_DB_ALIAS, self.user_attnames, values[:n])
        profile = None
        if values[n] is not None:  # the profile's key: NULL when the user has no profile row
            profile = Profile.from_db(DEFAULT_DB_ALIAS, self.profile_attnames, values[n:])
            _PROFILE_USER.set_cached_value(profile, user)
        _USER_PROFILE.set_cached_value(user, profile)  # None: `user.profile` raises, as after select_related
        return user, bool(row[-1])


_PROFILE_USER = Profile._meta.get_field("user")
_USER_PROFILE = User._meta.get_field("profile")


@functools.cache
def _viewer_query() -> _ViewerQuery:
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = [(f, "u") for f in User._meta.concrete_fields] + [(f, "pr") for f in Profile._meta.concrete_fields]
    sql = f"""SELECT {", ".join(f"{alias}.{quote(f.column)}" for f, alias in fields)},
    EXISTS (SELECT 1 FROM "sessions" s WHERE s.id = %s AND s.user_id = u.id AND s.revoked_at IS NULL)
FROM "users" u LEFT JOIN "profiles" pr ON pr.user_id = u.id WHERE u.id = %s"""  # noqa: S608 (model columns only)
    converters = []
    for i, (field, _alias) in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        funcs = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if funcs:
            converters.append((i, tuple(funcs), column))
    return _ViewerQuery(
        sql,
        [f.attname for f in User._meta.concrete_fields],
        [f.attname for f in Profile._meta.concrete_fields],
        tuple(converters),
    )


class JWTAuthentication(_SimpleJWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        return validate_access_token(raw_token)

    def get_user(self, validated_token) -> User:
        return user_for_token(validated_token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
