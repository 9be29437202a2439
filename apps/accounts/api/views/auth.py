"""Registration, login, token refresh, logout, sessions and the OAuth hand-over to our token pair."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.api.serializers import (
    AuthPairSerializer,
    LoginSerializer,
    LogoutSerializer,
    OAuthLinkTokenSerializer,
    RefreshSerializer,
    RegisterSerializer,
    SessionSerializer,
)
from apps.accounts.tokens import csrf_token_for, issue_token_pair, rotate_refresh_token, session_id_of
from apps.core import limits
from apps.core.client_address import client_address

from .cookies import CSRF_HEADER, _clear_cookies, _refresh_missing, auth_response, presented_refresh


# --- registration, login, tokens ---------------------------------------------------------------
class RegisterView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=RegisterSerializer,
        responses={201: AuthPairSerializer},
        summary="Create an account with email, username and password",
        description="Usernames: 3-30 letters, digits or underscores, starting with a letter or digit; "
        "unique without regard to case. Sends a verification link and code. `X-Auth-Mode: cookie` "
        "puts the refresh token in an httpOnly cookie instead of the body.",
    )
    def post(self, request):
        s = RegisterSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.user_register(**s.validated_data, request=request)
        return auth_response(request, user, issue_token_pair(user, request=request), status=201)


class LoginView(APIView):
    authentication_classes: list = []

    @extend_schema(tags=["auth"], request=LoginSerializer, responses={200: AuthPairSerializer}, summary="Sign in")
    def post(self, request):
        s = LoginSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.authenticate_login(**s.validated_data, request=request)
        return auth_response(request, user, issue_token_pair(user, request=request))


class RefreshView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=RefreshSerializer,
        responses={200: AuthPairSerializer},
        summary="Rotate a refresh token",
        description="Every refresh token is single-use. Presenting one that was already used ends the "
        "whole session (its family) and answers 401 `token_reused`, except within "
        "`AUTH_REFRESH_GRACE_SECONDS` (default 20 s) of its rotation: then the answer carries the "
        "session's current refresh token, so two tabs refreshing together both stay signed in. "
        "Cookie mode (`X-Auth-Mode: cookie`): send no body token; the httpOnly cookie is used and the "
        "`X-CSRFToken` header must carry the session's `csrf_token` (from the sign-in answer, its "
        "`X-CSRFToken` response header, or `GET /api/auth/csrf`). Every failure is a 401 with a "
        "specific code: `refresh_missing` (no token, no cookie), `token_invalid` (unknown, malformed "
        "or ended session), `token_expired`, `token_reused` (replay after the grace window; the "
        "session is ended); a wrong CSRF header is 403 `csrf_failed`.",
    )
    def post(self, request):
        s = RefreshSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        limits.hit("refresh_ip", client_address(request))
        raw = presented_refresh(request, s.validated_data.get("refresh"))
        if not raw:
            raise _refresh_missing()
        rotated = rotate_refresh_token(raw, request=request)
        # A token that came from the cookie goes back into it (even without X-Auth-Mode), or the
        # cookie would keep a used token and the next refresh would end the session.
        return auth_response(request, rotated.user, rotated.tokens, cookie=not s.validated_data.get("refresh"))


class CsrfView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        responses={200: inline_serializer("CsrfToken", {"csrf_token": serializers.CharField()})},
        summary="The cookie session's CSRF value (for a reloaded SPA tab)",
        description="Cookie mode only: reads the httpOnly refresh cookie and answers the value to send "
        "as `X-CSRFToken` on refresh and logout. It stays the same for the whole session. CORS lets "
        "only the configured origins read it. 401 `refresh_missing` without the cookie.",
    )
    def get(self, request):
        cookie = request.COOKIES.get(settings.AUTH_REFRESH_COOKIE)
        if not cookie:
            raise _refresh_missing()
        csrf = csrf_token_for(session_id_of(cookie))
        return Response({"csrf_token": csrf}, headers={CSRF_HEADER: csrf})


class LogoutView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=LogoutSerializer,
        responses={200: inline_serializer("LogoutResult", {"revoked": serializers.IntegerField()})},
        summary="End this session, or every session with {all: true}",
    )
    def post(self, request):
        s = LogoutSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        raw = presented_refresh(request, s.validated_data.get("refresh"))
        if not raw:
            raise _refresh_missing()
        revoked = services.logout(refresh_token=raw, user=None, all_sessions=s.validated_data["all"])
        response = Response({"revoked": revoked})
        _clear_cookies(response)
        return response


class SessionListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={200: SessionSerializer(many=True)}, summary="My live sessions")
    def get(self, request):
        rows = selectors.session_list(user=request.user)
        ctx = {"current_session_id": getattr(request.user, "auth_session_id", None)}
        return Response(SessionSerializer(rows, many=True, context=ctx).data)


class SessionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={204: None}, summary="Revoke one of my sessions")
    def delete(self, request, session_id: str):
        services.session_revoke(user=request.user, session_id=session_id)
        return Response(status=204)


# --- OAuth: ending allauth's headless flows in our JWT pair ------------------------------------
class OAuthSessionExchangeView(APIView):
    """After allauth's redirect flow (browser: Django session cookie) or token flow (app:
    X-Session-Token), trade the allauth session for this platform's JWT pair and end it."""

    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={200: AuthPairSerializer},
        summary="Finish an OAuth sign-in: allauth session -> JWT pair",
    )
    def post(self, request):
        from apps.accounts import oauth

        user = oauth.exchange_allauth_session(request)
        response = auth_response(request, user, issue_token_pair(user, request=request, method=oauth.last_method(user)))
        oauth.forget_browser_session(request, response)
        return response


class OAuthLinkTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=None,
        responses={201: OAuthLinkTokenSerializer},
        summary="Start linking a provider: a short-lived allauth session token for the signed-in user",
        description="Send it as `X-Session-Token` to `/_allauth/app/v1/auth/provider/token` (or "
        "`.../redirect`) with `process=connect`.",
    )
    def post(self, request):
        from apps.accounts import oauth

        token, ttl = oauth.link_session_token(request, request.user)
        return Response({"session_token": token, "expires_in": ttl}, status=201)
