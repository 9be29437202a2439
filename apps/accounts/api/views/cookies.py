"""How a token pair reaches the client: in the body, or as cookies for a browser (cookie mode)."""

from __future__ import annotations

import hmac

from django.conf import settings
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.api.serializers import OwnerUserSerializer
from apps.accounts.models import User
from apps.accounts.tokens import csrf_token_for, session_id_of
from apps.core.client_address import client_address
from apps.core.exceptions import ApplicationError, NotAuthenticated

OK = inline_serializer("Ok", {"ok": serializers.BooleanField()})


# --- cookie mode -----------------------------------------------------------------------------
def cookie_mode(request) -> bool:
    return request.headers.get("X-Auth-Mode", "").lower() == "cookie"


CSRF_HEADER = "X-CSRFToken"


def _refresh_missing() -> NotAuthenticated:
    return NotAuthenticated(
        "No refresh token: send it in the body, or in cookie mode sign in again.", code="refresh_missing"
    )


def auth_response(request, user: User, tokens: dict[str, str], status: int = 200, *, cookie: bool = False) -> Response:
    """The contract's `{access, refresh, user}`; in cookie mode the refresh token travels only in an
    httpOnly cookie, and the CSRF value for refresh/logout comes in the body (`csrf_token`) and the
    exposed X-CSRFToken header: an SPA on another origin cannot read the API host's cookies."""
    body = {"access": tokens["access"], "refresh": tokens["refresh"], "user": OwnerUserSerializer(user).data}
    if not (cookie or cookie_mode(request)):
        return Response(body, status=status)
    body.pop("refresh")
    csrf = csrf_token_for(session_id_of(tokens["refresh"]))
    body["csrf_token"] = csrf
    response = Response(body, status=status, headers={CSRF_HEADER: csrf})
    max_age = int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds())
    response.set_cookie(
        settings.AUTH_REFRESH_COOKIE, tokens["refresh"], max_age=max_age, httponly=True, **_cookie_attrs()
    )
    # Readable by a page on the API's own origin; another origin uses the body or the header.
    response.set_cookie(settings.AUTH_CSRF_COOKIE, csrf, max_age=max_age, httponly=False, **_cookie_attrs())
    return response


def _cookie_attrs() -> dict:
    return {
        "path": settings.AUTH_COOKIE_PATH,
        "domain": settings.AUTH_COOKIE_DOMAIN,
        "secure": settings.AUTH_COOKIE_SECURE,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
    }


def _clear_cookies(response: Response) -> None:
    attrs = _cookie_attrs()
    attrs.pop("secure")
    for name in (settings.AUTH_REFRESH_COOKIE, settings.AUTH_CSRF_COOKIE):
        response.delete_cookie(name, **attrs)


def presented_refresh(request, body_value: str | None) -> str | None:
    """The refresh token from the body, or in cookie mode from the cookie, which then needs the
    session's CSRF value in the X-CSRFToken header."""
    if body_value:
        return body_value
    cookie = request.COOKIES.get(settings.AUTH_REFRESH_COOKIE)
    if not cookie:
        return None
    expected = csrf_token_for(session_id_of(cookie))
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(expected, sent):
        raise ApplicationError("The CSRF header is missing or does not match.", code="csrf_failed", status=403)
    return cookie


def _ip(request) -> str | None:
    return client_address(request, default=None)
