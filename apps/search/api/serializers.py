from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer

PERIODS = {
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(days=7),
    "month": dt.timedelta(days=30),
    "year": dt.timedelta(days=365),
    "all": None,
}


class SearchCategoryRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class PostHitSerializer(serializers.Serializer):
    type = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    title = serializers.CharField()
    title_highlight = serializers.CharField(help_text="HTML-escaped title with <mark> around matches.")
    snippet = serializers.CharField(help_text="HTML-escaped excerpt of the body with <mark> around matches.")
    category = SearchCategoryRefSerializer()
    tags = serializers.ListField(child=serializers.CharField(), source="tag_slugs")
    author = PublicUserSerializer()
    score = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_type(self, obj) -> str:
        return "post"


class CommentHitSerializer(serializers.Serializer):
    type = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    post_id = serializers.IntegerField()
    post_title = serializers.CharField(source="post.title")
    parent_id = serializers.IntegerField(allow_null=True)
    snippet = serializers.CharField(help_text="HTML-escaped excerpt with <mark> around matches.")
    author = PublicUserSerializer()
    score = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_type(self, obj) -> str:
        return "comment"


class UserHitSerializer(PublicUserSerializer):
    type = serializers.SerializerMethodField()

    class Meta(PublicUserSerializer.Meta):
        fields = ["type", *PublicUserSerializer.Meta.fields]
        read_only_fields = fields

    def get_type(self, obj) -> str:
        return "user"


class RelatedPostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    excerpt = serializers.CharField()
    category = SearchCategoryRefSerializer()
    tags = serializers.ListField(child=serializers.CharField(), source="tag_slugs")
    author = PublicUserSerializer()
    score = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SuggestSerializer(serializers.Serializer):
    query = serializers.CharField()
    titles = serializers.ListField(child=serializers.DictField())
    tags = serializers.ListField(child=serializers.DictField())
    users = serializers.ListField(child=serializers.DictField())
    did_you_mean = serializers.CharField(allow_null=True)


class TrendingSerializer(serializers.Serializer):
    window_hours = serializers.IntegerField()
    topics = serializers.ListField(child=serializers.DictField())
    searches = serializers.ListField(child=serializers.DictField())
