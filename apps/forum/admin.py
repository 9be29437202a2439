from django.contrib import admin

from apps.forum.models import Category, Comment, Draft, Post, PostRevision, Tag, Vote


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position", "read_access", "post_access", "read_min_tier", "post_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["post_count", "comment_count", "trending_score", "trending_updated_at"]
    search_fields = ["name", "slug"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "post_count"]
    search_fields = ["slug"]
    readonly_fields = ["post_count"]


class RevisionInline(admin.TabularInline):
    model = PostRevision
    extra = 0
    fields = ["number", "editor", "title", "reason", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "author",
        "category",
        "status",
        "score",
        "comment_count",
        "is_pinned",
        "is_locked",
        "created_at",
    ]
    list_filter = ["status", "is_pinned", "is_locked", "category"]
    search_fields = ["title", "author__username"]
    raw_id_fields = ["author", "status_changed_by"]
    list_select_related = ["author", "category"]
    readonly_fields = [
        "score", "upvotes", "downvotes", "comment_count", "hot_rank", "controversy", "body_html", "excerpt",
        "tag_slugs", "revision_count", "created_at", "edited_at", "last_activity_at",
    ]  # fmt: skip
    exclude = ["search_vector", "tags"]
    inlines = [RevisionInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "author", "depth", "status", "score", "created_at"]
    list_filter = ["status"]
    search_fields = ["body", "author__username"]
    raw_id_fields = ["post", "parent", "author", "status_changed_by"]
    list_select_related = ["author", "post"]
    readonly_fields = ["path", "depth", "score", "upvotes", "downvotes", "best_rank", "reply_count", "body_html"]
    exclude = ["search_vector"]
    show_full_result_count = False


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "post", "comment", "value", "updated_at"]
    raw_id_fields = ["user", "post", "comment"]
    show_full_result_count = False


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "title", "updated_at"]
    raw_id_fields = ["author", "post"]
