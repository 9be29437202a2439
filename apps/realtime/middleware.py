"""WebSocket authentication: `?token=<access>` in the query string (a first `auth` message is
handled by the consumer). An expired token is told apart from an invalid one."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import DatabaseSyncToAsync
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import PermissionDenied

from apps.accounts.authentication import TokenRejected, user_for_token, validate_access_token
from apps.core.exceptions import auth_failure_code


def _user_from_token_sync(raw: str):
    token = validate_access_token(raw)
    user = user_for_token(token)
    user._rt_token_exp = token.get("exp")  # the consumer closes the socket (4401) when it passes
    return user


# Not thread-sensitive: a connect storm (every client reconnecting after a deploy) checks tokens on
# the executor's threads in parallel, each with its own database connection, instead of queueing
# every lookup behind one thread.
_user_from_token = DatabaseSyncToAsync(_user_from_token_sync, thread_sensitive=False)


async def authenticate_token(raw: str):
    """(user, None) or (AnonymousUser, error code: 'token_expired' | 'token_invalid')."""
    try:
        return await _user_from_token(raw), None
    except TokenRejected as exc:
        return AnonymousUser(), "token_expired" if auth_failure_code(exc) == "token_expired" else "token_invalid"
    except PermissionDenied:  # a genuine token of a suspended account: it may not act
        return AnonymousUser(), "token_invalid"


class TokenAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        scope["user"] = AnonymousUser()
        scope["auth_error"] = None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        if token:
            scope["user"], scope["auth_error"] = await authenticate_token(token)
        return await self.inner(scope, receive, send)
