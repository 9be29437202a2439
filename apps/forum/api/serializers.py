"""Output shapes of API.md (post, comment, vote answer) and the input shapes of forum writes."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.serializers import PublicUserSerializer, public_user_dict
from apps.forum.models import (
    PLACEHOLDER_STATUSES,
    PLACEHOLDER_TITLES,
    Category,
    Comment,
    Draft,
    Post,
    PostRevision,
    Tag,
    Vote,
)

_datetime_field = serializers.DateTimeField()


def _author(serializer, instance) -> dict:
    """The public user, through PublicUserSerializer, once per distinct author per response; not
    rendered at all when a sparse fieldset (`context["fields"]`) leaves it out."""
    fields = serializer.context.get("fields")
    if fields and "author" not in fields:
        return None
    cache = serializer.__dict__.setdefault("_author_cache", {})
    data = cache.get(instance.author_id)
    if data is None:
        if type(serializer._declared_fields["author"]) is PublicUserSerializer:
            # What that field renders (PublicUserSerializer.to_representation), without building
            # every field of the serializer for it: a tenth of a one-comment answer.
            data = public_user_dict(instance.author)
        else:
            data = serializer.fields["author"].to_representation(instance.author)
        cache[instance.author_id] = data
    return data


def _iso(value):
    """Times exactly as DRF renders them (ISO 8601, UTC with Z)."""
    return None if value is None else _datetime_field.to_representation(value)


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # top level: null
    trending_tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Category
        fields = [
            "id", "slug", "name", "description", "color", "position", "parent", "read_access", "post_access",
            "read_min_tier", "post_min_tier", "is_archived", "post_count", "comment_count", "active_users_24h",
            "trending_tags", "trending_score", "trending_updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["slug", "name", "description", "post_count"]
        read_only_fields = fields


class TagListSerializer(TagSerializer):
    post_count = serializers.IntegerField(
        source="visible_post_count", read_only=True, help_text="Published posts with this tag that you may read."
    )


class PostSerializer(serializers.ModelSerializer):
    """API.md "post". A deleted or removed post is a placeholder: its title says so, its body and
    author are empty, its counters and place in the thread stay. The author is a nested
    PublicUserSerializer (one instance per list, not one per row: this is the feeds' hot path)."""

    category = CategoryRefSerializer(read_only=True)
    tags = serializers.ListField(source="tag_slugs", child=serializers.CharField(), read_only=True)
    author = PublicUserSerializer(read_only=True, allow_null=True)
    my_vote = serializers.IntegerField(read_only=True, default=0)
    is_deleted = serializers.BooleanField(read_only=True)

    class Meta:
        model = Post
        fields = [
            "id", "title", "slug", "body", "body_html", "excerpt", "category", "tags", "author", "score",
            "upvotes", "downvotes", "my_vote", "comment_count", "created_at", "edited_at", "last_activity_at",
            "is_pinned", "is_locked", "is_nsfw", "is_deleted", "status", "hot_rank", "controversy",
            "revision_count",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Post) -> dict:
        # Hand-built (same keys as Meta.fields, checked by a test): DRF's per-field machinery costs
        # more than the feed query itself. Authors still go through PublicUserSerializer.
        gone = instance.status in PLACEHOLDER_STATUSES
        category = instance.category
        return {
            "id": instance.id,
            "title": PLACEHOLDER_TITLES[instance.status] if gone else instance.title,
            "slug": "" if gone else instance.slug,
            "body": "" if gone else instance.body,
            "body_html": "" if gone else instance.body_html,
            "excerpt": "" if gone else instance.excerpt,
            "category": {"slug": category.slug, "name": category.name},
            "tags": list(instance.tag_slugs),
            "author": None if gone else _author(self, instance),
            "score": instance.score,
            "upvotes": instance.upvotes,
            "downvotes": instance.downvotes,
            "my_vote": int(getattr(instance, "my_vote", 0) or 0),
            "comment_count": instance.comment_count,
            "created_at": _iso(instance.created_at),
            "edited_at": _iso(instance.edited_at),
            "last_activity_at": _iso(instance.last_activity_at),
            "is_pinned": instance.is_pinned,
            "is_locked": instance.is_locked,
            "is_nsfw": instance.is_nsfw,
            "is_deleted": gone,
            "status": instance.status,
            "hot_rank": instance.hot_rank,
            "controversy": instance.controversy,
            "revision_count": instance.revision_count,
        }


class CommentSerializer(serializers.ModelSerializer):
    """API.md "comment". Deleted/removed comments (and ones the viewer may not see that still hold
    visible replies) render as placeholders: `is_deleted` true, empty body, null author."""

    author = PublicUserSerializer(read_only=True, allow_null=True)
    my_vote = serializers.IntegerField(read_only=True, default=0)
    is_deleted = serializers.BooleanField(read_only=True)
    post_id = serializers.IntegerField(read_only=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = [
            "id", "post_id", "parent_id", "depth", "body", "body_html", "author", "score", "upvotes", "downvotes",
            "my_vote", "created_at", "edited_at", "is_deleted", "reply_count",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Comment) -> dict:
        gone = instance.status in PLACEHOLDER_STATUSES or bool(getattr(instance, "as_placeholder", False))
        return {
            "id": instance.id,
            "post_id": instance.post_id,
            "parent_id": instance.parent_id,
            "depth": instance.depth,
            "body": "" if gone else instance.body,
            "body_html": "" if gone else instance.body_html,
            "author": None if gone else _author(self, instance),
            "score": instance.score,
            "upvotes": instance.upvotes,
            "downvotes": instance.downvotes,
            "my_vote": int(getattr(instance, "my_vote", 0) or 0),
            "created_at": _iso(instance.created_at),
            "edited_at": _iso(instance.edited_at),
            "is_deleted": gone,
            "reply_count": instance.reply_count,
        }


class RevisionSerializer(serializers.ModelSerializer):
    editor = PublicUserSerializer(read_only=True, allow_null=True)
    tags = serializers.ListField(source="tag_slugs", child=serializers.CharField(), read_only=True)
    category = CategoryRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PostRevision
        fields = ["number", "title", "body", "tags", "category", "editor", "reason", "created_at"]
        read_only_fields = fields


class DraftSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    tags = serializers.ListField(source="tag_slugs", child=serializers.CharField(), read_only=True)
    post_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Draft
        fields = ["id", "post_id", "title", "body", "category", "tags", "version", "created_at", "updated_at"]
        read_only_fields = fields


class VoteHistorySerializer(serializers.ModelSerializer):
    target_type = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    post_id = serializers.IntegerField(read_only=True)
    post_title = serializers.CharField(source="post.title", read_only=True)

    class Meta:
        model = Vote
        fields = ["id", "target_type", "target_id", "post_id", "post_title", "value", "created_at", "updated_at"]
        read_only_fields = fields

    def get_target_type(self, obj: Vote) -> str:
        return "comment" if obj.comment_id else "post"

    def get_target_id(self, obj: Vote) -> int:
        return obj.comment_id or obj.post_id


class VoteAnswerSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    upvotes = serializers.IntegerField()
    downvotes = serializers.IntegerField()
    my_vote = serializers.IntegerField()


# --- input ---------------------------------------------------------------------------------------


def _tags_field(**kwargs):
    return serializers.ListField(child=serializers.CharField(max_length=100, allow_blank=True), max_length=50, **kwargs)


@extend_schema_field({"type": "string", "pattern": r"\S"})
class NonBlankTextField(serializers.CharField):
    """Text that must say something: the services refuse a blank title or body with their own
    message; the schema says it with a pattern (a non-space character somewhere)."""


class PostCreateInput(serializers.Serializer):
    title = NonBlankTextField(allow_blank=True, trim_whitespace=False, max_length=10_000)
    body = NonBlankTextField(allow_blank=True, trim_whitespace=False, max_length=1_000_000)
    category = serializers.CharField(max_length=80)
    tags = _tags_field(required=False, default=list)
    is_nsfw = serializers.BooleanField(required=False, default=False)


class PostUpdateInput(serializers.Serializer):
    title = NonBlankTextField(required=False, allow_blank=True, trim_whitespace=False, max_length=10_000)
    body = NonBlankTextField(required=False, allow_blank=True, trim_whitespace=False, max_length=1_000_000)
    category = serializers.CharField(required=False, max_length=80)
    tags = _tags_field(required=False)
    is_nsfw = serializers.BooleanField(required=False)
    revision = serializers.IntegerField(
        required=False, min_value=1, help_text="The revision you edited; a newer one makes this a 409."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class FlagInput(serializers.Serializer):
    value = serializers.BooleanField()


class CommentCreateInput(serializers.Serializer):
    body = NonBlankTextField(allow_blank=True, trim_whitespace=False, max_length=1_000_000)
    parent_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class CommentUpdateInput(serializers.Serializer):
    body = NonBlankTextField(allow_blank=True, trim_whitespace=False, max_length=1_000_000)


@extend_schema_field({"type": "integer", "enum": [1, -1, 0]})
class VoteValueField(serializers.IntegerField):
    pass


class VoteInput(serializers.Serializer):
    value = VoteValueField(help_text="1 up, -1 down, 0 retracts.")

    def validate_value(self, value: int) -> int:
        if value not in (-1, 0, 1):
            raise serializers.ValidationError("Must be 1, -1 or 0.")
        return value


class DraftInput(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=10_000)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=1_000_000)
    category = serializers.CharField(required=False, allow_blank=True, max_length=80)
    tags = _tags_field(required=False)
    post_id = serializers.IntegerField(required=False, min_value=1, help_text="Set to draft an edit of your post.")
    version = serializers.IntegerField(required=False, min_value=1, help_text="Autosave: the version you loaded.")


def max_lengths() -> dict[str, int]:
    return {
        "title": settings.FORUM_TITLE_MAX_LENGTH,
        "post_body": settings.FORUM_POST_BODY_MAX_LENGTH,
        "comment_body": settings.FORUM_COMMENT_BODY_MAX_LENGTH,
    }
