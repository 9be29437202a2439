"""Profiles, settings and avatars, and the admin actions on a user: role, suspension, audit trail."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.access import require, user_can
from apps.accounts.api.serializers import (
    SETTINGS_DEFAULTS,
    AuditEntrySerializer,
    AvatarSerializer,
    OwnerUserSerializer,
    ProfileUpdateSerializer,
    ProfileUserSerializer,
    RoleAssignSerializer,
    SuspendSerializer,
    UserSettingsSerializer,
)
from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, PermissionDeniedError
from apps.core.pagination import KeysetPagination
from apps.privacy.api.serializers import AccountDeleteSerializer as PrivacyDeleteSerializer

from .cookies import _ip


# --- profiles --------------------------------------------------------------------------------
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
        return Response(_profile_body(request, selectors.user_from_path(user_id=user_id, viewer=request.user)))

    @extend_schema(
        tags=["users"],
        request=ProfileUpdateSerializer,
        responses={200: OwnerUserSerializer},
        summary="Update my profile (display name, bio, links, privacy)",
    )
    def put(self, request, user_id: str):
        user = selectors.user_from_path(user_id=user_id, viewer=request.user)
        _require_owner_or_admin(request, user)
        s = ProfileUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        services.profile_update(user=user, data=s.validated_data)
        user = selectors.user_with_profile(user_id=user.pk)
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

        user = selectors.user_from_path(user_id=user_id, viewer=request.user)
        if not request.user.is_authenticated:
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", status=401
            )
        if request.user.pk != user.pk:
            raise PermissionDeniedError("You can only close your own account.")
        return delete_me(request)


class UserSettingsView(APIView):
    def _target(self, request, user_id: str) -> User:
        user = selectors.user_from_path(user_id=user_id, viewer=request.user)
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
        user = selectors.user_from_path(user_id=user_id, viewer=request.user)
        _require_owner_or_admin(request, user)
        s = AvatarSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.avatar_set(user=user, upload=s.validated_data["file"], request=request)
        user = selectors.user_with_profile(user_id=user.pk)
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
        user = selectors.user_with_profile(user_id=user.pk)
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
        user = selectors.user_with_profile(user_id=user.pk)
        return Response(OwnerUserSerializer(user).data)

    @extend_schema(tags=["admin"], request=None, responses={200: OwnerUserSerializer}, summary="Lift a suspension")
    def delete(self, request, user_id: str):
        user = selectors.user_get_any(user_id=user_id)
        user = services.user_unsuspend(user=user, by=request.user, ip=_ip(request))
        user = selectors.user_with_profile(user_id=user.pk)
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
