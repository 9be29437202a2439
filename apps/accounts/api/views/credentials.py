"""Email verification, password reset and change, email change and the identities (ways in)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import identity, selectors, services
from apps.accounts.api.serializers import (
    EmailChangeSerializer,
    IdentitySerializer,
    OwnerUserSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    VerifyEmailSerializer,
)
from apps.core.exceptions import ApplicationError

from .cookies import OK


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
        user = selectors.user_with_profile(user_id=user.pk)
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
        user = selectors.user_with_profile(user_id=user.pk)
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

    @extend_schema(tags=["auth"], responses={204: None}, summary="Unlink a way in (refused with 409 for the last one)")
    def delete(self, request, kind: str, uid: str):
        services.identity_unlink(user=request.user, kind=kind, uid=uid)
        return Response(status=204)
