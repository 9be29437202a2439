from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.media.models import MediaAsset
from apps.media.services import VARIANTS, public_url


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    purpose = serializers.ChoiceField(choices=["post", "avatar"], required=False, default="post")


class MediaAssetSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text="processing, ready or failed (the variants).")
    variants = serializers.SerializerMethodField()

    class Meta:
        model = MediaAsset
        fields = [
            "id",
            "key",
            "url",
            "purpose",
            "status",
            "format",
            "content_type",
            "width",
            "height",
            "frames",
            "bytes",
            "variants",
            "created_at",
        ]
        read_only_fields = fields

    def get_url(self, obj: MediaAsset) -> str:
        return public_url(obj, "original", request=self.context.get("request"))

    @extend_schema_field(
        {
            "type": "object",
            "description": "URL of each variant; null until the variant task has run.",
            "properties": {name: {"type": "string", "nullable": True} for name in VARIANTS},
        }
    )
    def get_variants(self, obj: MediaAsset) -> dict[str, str | None]:
        request = self.context.get("request")
        return {
            name: public_url(obj, name, request=request) if name in (obj.variants or {}) else None for name in VARIANTS
        }
