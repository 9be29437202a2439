from rest_framework import serializers

from apps.accounts.models import User


class PublicUserSerializer(serializers.ModelSerializer):
    """API.md "user (public)". Every app renders authors and members with this serializer;
    querysets should `select_related("profile")` so it costs no extra query."""

    display_name = serializers.CharField(source="profile.display_name", read_only=True)
    avatar_url = serializers.CharField(source="profile.avatar_url", read_only=True)
    level = serializers.IntegerField(source="profile.level", read_only=True)
    points = serializers.IntegerField(source="profile.points", read_only=True)
    holder_tier = serializers.CharField(source="profile.holder_tier", read_only=True)
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "avatar_url", "level", "points", "holder_tier", "created_at"]
        read_only_fields = fields
