"""Privacy endpoints: export my data, delete my account. Thin: one selector or service call."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.throttling import EndpointClassThrottle, ScopedThrottle
from apps.privacy import selectors, services
from apps.privacy.api.serializers import AccountDeleteSerializer, ExportDocumentSerializer


class ExportView(ConcurrencyLimitMixin, APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [EndpointClassThrottle, ScopedThrottle]
    throttle_scope = "privacy_export"  # THROTTLE_PRIVACY_EXPORT, default 3/hour per user
    concurrency_scope = "export"  # one snapshot read across every area at a time per user

    @extend_schema(
        tags=["users"],
        responses={
            200: ExportDocumentSerializer,
            429: OpenApiResponse(description="More than THROTTLE_PRIVACY_EXPORT exports (default 3/hour)."),
        },
        summary="Download everything the platform holds about me (JSON, as an attachment)",
        description=(
            "One JSON document, versioned (`format`, `version`, `generated_at`), with one section per area "
            "(accounts, forum, moderation, media, wallet, market, gamification, notifications, search, realtime); "
            "every section is present even when empty. Never contains secrets (password hash, OAuth or refresh "
            "tokens) nor other people's private data. Sent with `Content-Disposition: attachment`. Heavy: "
            "limited to a few per hour per user."
        ),
    )
    def get(self, request):
        document = selectors.export_document(user=request.user)
        stamp = document["generated_at"][:10]
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="successkid-export-{request.user.pk}-{stamp}.json"'
        response["Cache-Control"] = "no-store"
        return response


def delete_me(request) -> Response:
    """DELETE /api/users/me (routed by accounts' user view, which owns that path)."""
    s = AccountDeleteSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    services.account_delete(
        user=request.user,
        password=s.validated_data.get("password"),
        confirm=s.validated_data.get("confirm"),
        session_id=getattr(request.user, "auth_session_id", None),
    )
    return Response(status=204)
