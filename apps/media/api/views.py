from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.access import require
from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.exceptions import ValidationFailed
from apps.media import images, selectors, services
from apps.media.api.serializers import MediaAssetSerializer, MediaUploadSerializer


class MediaUploadView(ConcurrencyLimitMixin, APIView):
    permission_classes = [require("content.create")]
    concurrency_scope = "upload"  # decoding and re-encoding images is CPU-heavy
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": MediaUploadSerializer},
        responses={201: MediaAssetSerializer},
        summary="Upload an image (JPEG, PNG, GIF, WebP)",
        description=(
            "Judged by content, never by name or declared type: anything else (SVG included) is 415. "
            "Too many bytes or pixels, or the daily quota spent: 413 with the limit in the message. "
            "The stored image is re-encoded without metadata; thumbnail, medium and WebP variants follow "
            "from a background task (`status` turns `ready`)."
        ),
    )
    def post(self, request: Request) -> Response:
        if "file" not in request.FILES:
            raise ValidationFailed(
                "Send the image as the multipart field 'file'.", details={"file": ["No file was submitted."]}
            )
        ser = MediaUploadSerializer(
            data={"file": request.FILES["file"], "purpose": request.data.get("purpose", "post")}
        )
        ser.is_valid(raise_exception=True)
        asset = services.media_upload(
            owner=request.user, upload=ser.validated_data["file"], purpose=ser.validated_data["purpose"]
        )
        return Response(MediaAssetSerializer(asset, context={"request": request}).data, status=status.HTTP_201_CREATED)


class MediaDetailView(APIView):
    permission_classes = [require("content.create")]

    @extend_schema(responses=MediaAssetSerializer, summary="One of your uploads (variants' status and URLs)")
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            MediaAssetSerializer(selectors.media_owned(user=request.user, pk=pk), context={"request": request}).data
        )

    @extend_schema(request=None, responses={204: None}, summary="Delete one of your uploads")
    def delete(self, request: Request, pk: int) -> Response:
        services.media_delete(asset=selectors.media_owned(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@require_safe
def media_file(request: HttpRequest, key, variant: str) -> FileResponse:
    """Serve a stored image with headers that keep a browser from treating it as anything else."""
    if variant not in ("original", *services.VARIANTS):
        raise Http404()
    asset = selectors.media_for_file(key=key)
    if asset is None:
        raise Http404()
    name, content_type = services.file_for(asset, variant)
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404() from None
    ext = {v: k for k, v in images.ALLOWED.items()}.get(content_type, "JPEG")
    filename = f"{asset.key}{'' if variant == 'original' else '_' + variant}.{images.EXTENSIONS[ext]}"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Cross-Origin-Resource-Policy"] = settings.MEDIA_CROSS_ORIGIN_RESOURCE_POLICY
    return response
