"""Shapes of the privacy endpoints (documented in the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from apps.privacy.registry import registry


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        required=False,
        help_text="The account's password. Required when the account has one.",
    )
    confirm = serializers.CharField(
        max_length=64,
        write_only=True,
        required=False,
        help_text="For accounts without a password (wallet or OAuth sign-in only): your username, typed "
        "out. Such accounts must also have signed in within the last 10 minutes.",
    )


def _sections_serializer() -> serializers.Serializer:
    fields = {
        section: serializers.DictField(help_text=registry.areas[section].description or section)
        for section in registry.sections()
    }
    return type("ExportSectionsSerializer", (serializers.Serializer,), fields)()


class ExportDocumentSerializer(serializers.Serializer):
    format = serializers.CharField(help_text='Always "successkid.account-export".')
    version = serializers.IntegerField(help_text="Format version; bumped on incompatible changes.")
    generated_at = serializers.DateTimeField()
    user_id = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        fields["sections"] = _sections_serializer()
        return fields
