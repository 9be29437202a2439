"""Accounts endpoints: thin views over services and selectors."""

from __future__ import annotations

import datetime as dt
import hmac

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import identity, selectors, services
from apps.accounts.api.serializers import (
    SETTINGS_DEFAULTS,
    AuditEntrySerializer,
    AuthPairSerializer,
    AvatarSerializer,
    EmailChangeSerializer,
    IdentitySerializer,
    LoginSerializer,
    LogoutSerializer,
    OAuthLinkTokenSerializer,
    OwnerUserSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    ProfileUpdateSerializer,
    ProfileUserSerializer,
    RefreshSerializer,
    RegisterSerializer,
    RoleAssignSerializer,
    SessionSerializer,
    SuspendSerializer,
    UserSettingsSerializer,
    VerifyEmailSerializer,
)
from apps.accounts.models import User
from apps.accounts.permissions import require, user_can
from apps.accounts.tokens import csrf_token_for, issue_token_pair, rotate_refresh_token, session_id_of
from apps.core import limits
from apps.core.client_address import client_address
from apps.core.exceptions import ApplicationError, NotAuthenticated, PermissionDeniedError
from apps.core.pagination import KeysetPagination
from apps.privacy.api.serializers import AccountDeleteSerializer as PrivacyDeleteSerializer

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


# --- email verification, passwords, email change -------------------------------------------
class VerifyEmailView(APIView):
    @extend_schema(
        tags=["auth"],
        request=VerifyEmailSerializer,
        responses={200: OwnerUserSerializer},
        summary="Verify the email address by the link's key (anyone) or the code (signed in)",
    )
    def post(self, request):
        s = VerifyEmailSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        if s.validated_data.get("key"):
            user = services.verify_email_key(key=s.validated_data["key"])
        else:
            if not request.user.is_authenticated:
                raise ApplicationError("Sign in to verify with a code.", code="not_authenticated", status=401)
            user = services.verify_email_code(user=request.user, code=s.validated_data["code"])
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)


class ResendVerificationView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=None, responses={202: OK}, summary="Send the verification email again")
    def post(self, request):
        services.resend_verification(user=request.user)
        return Response({"ok": True}, status=202)


class PasswordResetRequestView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=PasswordResetRequestSerializer,
        responses={202: OK},
        summary="Ask for a password reset link",
        description="Answers 202 whether or not an account has this address.",
    )
    def post(self, request):
        s = PasswordResetRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.password_reset_request(email=s.validated_data["email"], request=request)
        return Response({"ok": True}, status=202)


class PasswordResetConfirmView(APIView):
    authentication_classes: list = []

    @extend_schema(
        tags=["auth"],
        request=PasswordResetConfirmSerializer,
        responses={200: OK},
        summary="Set a new password from a reset link (ends every session)",
    )
    def post(self, request):
        s = PasswordResetConfirmSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.password_reset_confirm(
            uid=s.validated_data["uid"], token=s.validated_data["token"], new_password=s.validated_data["password"]
        )
        return Response({"ok": True})


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=PasswordChangeSerializer,
        responses={200: inline_serializer("PasswordChanged", {"ended_sessions": serializers.IntegerField()})},
        summary="Change my password (ends my other sessions)",
    )
    def post(self, request):
        s = PasswordChangeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        ended = services.password_change(user=request.user, **s.validated_data)
        return Response({"ended_sessions": ended})


class EmailChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        request=EmailChangeSerializer,
        responses={200: OwnerUserSerializer},
        summary="Change my email (needs my password; the new address must be verified)",
    )
    def post(self, request):
        s = EmailChangeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.email_change(user=request.user, **s.validated_data)
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)


# --- identities (ways in) ----------------------------------------------------------------------
class IdentityListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        responses={200: IdentitySerializer(many=True)},
        summary="My ways in: password, OAuth providers, wallets",
    )
    def get(self, request):
        return Response(IdentitySerializer(identity.identities_of(request.user), many=True).data)


class IdentityDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        responses={204: None},
        summary="Unlink a way in (refused with 409 for the last one)",
    )
    def delete(self, request, kind: str, uid: str):
        services.identity_unlink(user=request.user, kind=kind, uid=uid)
        return Response(status=204)


# --- profiles --------------------------------------------------------------------------------
def _resolve_user(request, user_id: str) -> User:
    if user_id == "me":
        if not request.user.is_authenticated:
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", status=401
            )
        return User.objects.select_related("profile").get(pk=request.user.pk)
    return selectors.user_get(user_id=user_id, viewer=request.user)


def _require_owner_or_admin(request, user: User) -> None:
    if not request.user.is_authenticated:
        raise ApplicationError("Authentication credentials were not provided.", code="not_authenticated", status=401)
    if request.user.pk != user.pk and not user_can(request.user, "users.edit_any"):
        raise PermissionDeniedError("You can only change your own profile.")


def _profile_body(request, user: User):
    if selectors.is_owner_or_admin(request.user, user):
        return OwnerUserSerializer(user).data
    return ProfileUserSerializer(user).data


class UserDetailView(APIView):
    @extend_schema(
        tags=["users"],
        parameters=[OpenApiParameter("user_id", str, OpenApiParameter.PATH, description="A user id, or `me`.")],
        responses={200: OwnerUserSerializer},
        summary="A profile (the owner and admins also see private fields)",
    )
    def get(self, request, user_id: str):
        return Response(_profile_body(request, _resolve_user(request, user_id)))

    @extend_schema(
        tags=["users"],
        request=ProfileUpdateSerializer,
        responses={200: OwnerUserSerializer},
        summary="Update my profile (display name, bio, links, privacy)",
    )
    def put(self, request, user_id: str):
        user = _resolve_user(request, user_id)
        _require_owner_or_admin(request, user)
        s = ProfileUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        services.profile_update(user=user, data=s.validated_data)
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)

    patch = put

    @extend_schema(
        tags=["users"],
        request=PrivacyDeleteSerializer,
        responses={204: None},
        summary="Delete my account (re-authenticate; content anonymised, private data erased)",
        description=(
            "Send `password` (accounts with one) or `confirm` = your username (accounts without a password, "
            "signed in within the last 10 minutes). In one transaction: posts and comments are kept but handed "
            "to the shared deleted-user account; private data of every area is deleted; every token stops "
            'working. See README, "Your data". Safe to retry.'
        ),
    )
    def delete(self, request, user_id: str):
        from apps.privacy.api.views import delete_me

        user = _resolve_user(request, user_id)
        if not request.user.is_authenticated:
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", status=401
            )
        if request.user.pk != user.pk:
            raise PermissionDeniedError("You can only close your own account.")
        return delete_me(request)


class UserSettingsView(APIView):
    def _target(self, request, user_id: str) -> User:
        user = _resolve_user(request, user_id)
        _require_owner_or_admin(request, user)
        return user

    @extend_schema(tags=["users"], responses={200: UserSettingsSerializer}, summary="My preferences")
    def get(self, request, user_id: str):
        user = self._target(request, user_id)
        return Response(_settings_with_defaults(user.profile.settings))

    @extend_schema(
        tags=["users"],
        request=UserSettingsSerializer,
        responses={200: UserSettingsSerializer},
        summary="Change my preferences (locale, time zone, theme, content)",
    )
    def put(self, request, user_id: str):
        user = self._target(request, user_id)
        s = UserSettingsSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        merged = services.settings_update(user=user, data=s.validated_data)
        return Response(_settings_with_defaults(merged))

    patch = put


def _settings_with_defaults(stored: dict) -> dict:
    out = {**SETTINGS_DEFAULTS, **{k: v for k, v in (stored or {}).items() if k in SETTINGS_DEFAULTS}}
    out["content"] = {**SETTINGS_DEFAULTS["content"], **(stored or {}).get("content", {})}
    return out


class AvatarView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["users"],
        request={"multipart/form-data": AvatarSerializer},
        responses={200: OwnerUserSerializer},
        summary="Upload my avatar (JPEG, PNG, WebP or GIF, through the media upload pipeline)",
        description="Judged by content like every upload (415 for anything but an image, 413 past "
        "`AVATAR_MAX_BYTES` or the pixel limit); re-encoded without metadata. `avatar_url` is "
        "absolute and points at the image's thumbnail.",
    )
    def post(self, request, user_id: str):
        user = _resolve_user(request, user_id)
        _require_owner_or_admin(request, user)
        s = AvatarSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.avatar_set(user=user, upload=s.validated_data["file"], request=request)
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)

    put = post


# --- roles, suspensions, audit ---------------------------------------------------------------
class RoleView(APIView):
    permission_classes = [require("users.assign_role")]

    @extend_schema(tags=["admin"], request=RoleAssignSerializer, responses={200: OwnerUserSerializer})
    def post(self, request, user_id: str):
        user = selectors.user_get_any(user_id=user_id)
        s = RoleAssignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = services.role_assign(user=user, by=request.user, ip=_ip(request), **s.validated_data)
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)


class SuspendView(APIView):
    permission_classes = [require("users.suspend")]

    @extend_schema(
        tags=["admin"],
        request=SuspendSerializer,
        responses={200: OwnerUserSerializer},
        summary="Suspend for a time, or ban (permanent); every token of the account stops at once",
    )
    def post(self, request, user_id: str):
        user = selectors.user_get_any(user_id=user_id)
        s = SuspendSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        until = None
        if data.get("until"):
            until = data["until"]
        elif data.get("hours"):
            until = timezone.now() + dt.timedelta(hours=data["hours"])
        user = services.user_suspend(user=user, by=request.user, until=until, reason=data["reason"], ip=_ip(request))
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)

    @extend_schema(tags=["admin"], request=None, responses={200: OwnerUserSerializer}, summary="Lift a suspension")
    def delete(self, request, user_id: str):
        user = selectors.user_get_any(user_id=user_id)
        user = services.user_unsuspend(user=user, by=request.user, ip=_ip(request))
        user = User.objects.select_related("profile").get(pk=user.pk)
        return Response(OwnerUserSerializer(user).data)


class AuditView(APIView):
    permission_classes = [require("audit.read")]
    pagination_class = KeysetPagination

    @extend_schema(tags=["admin"], responses={200: AuditEntrySerializer(many=True)}, summary="A user's audit log")
    def get(self, request, user_id: str):
        user = selectors.user_get_any(user_id=user_id)
        paginator = KeysetPagination()
        rows = paginator.paginate_queryset(
            selectors.audit_list(target=user), request, view=self, ordering=("-created_at", "-id")
        )
        return paginator.get_paginated_response(AuditEntrySerializer(rows, many=True).data)


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
        return auth_response(request, user, issue_token_pair(user, request=request, method=oauth.last_method(user)))


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
