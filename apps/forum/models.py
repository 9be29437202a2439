"""Forum tables: categories, tags, posts (+ tags, revisions, drafts), threaded comments, votes.

Counters (score, upvotes, downvotes, comment_count, post_count...) are denormalised and only ever
changed by atomic `UPDATE ... SET x = x + d` in services, never read-modify-write. Ranking values
(`hot_rank`, `controversy`, comment `best_rank`) are stored and indexed; the formulas live in
`apps/forum/ranking.py`.

Visibility is one `status` column shared by posts and comments:
    published  shown to everyone who may read the category
    pending    awaiting moderator approval (new accounts' first posts): author + moderators only
    hidden     hidden by moderation (e.g. auto-hide on reports): author + moderators only
    removed    removed by a moderator: the thread keeps a placeholder
    deleted    deleted by its author: the thread keeps a placeholder
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from apps.core.access import tier_choices


class ContentStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    PENDING = "pending", "Pending review"
    HIDDEN = "hidden", "Hidden by moderation"
    REMOVED = "removed", "Removed by a moderator"
    DELETED = "deleted", "Deleted by its author"


PLACEHOLDER_STATUSES = (ContentStatus.REMOVED, ContentStatus.DELETED)
PLACEHOLDER_TITLES = {
    ContentStatus.DELETED: "[deleted]",
    ContentStatus.REMOVED: "[removed]",
}  # a placeholder post's title
PUBLISHED = Q(status=ContentStatus.PUBLISHED)


class ReadAccess(models.TextChoices):
    ANYONE = "anyone", "Anyone, signed in or not"
    USER = "user", "Signed-in users"
    MODERATOR = "moderator", "Moderators and admins"
    ADMIN = "admin", "Admins"


class PostAccess(models.TextChoices):
    USER = "user", "Signed-in users"
    MODERATOR = "moderator", "Moderators and admins"
    ADMIN = "admin", "Admins"


class Category(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, default="")
    color = models.CharField(max_length=7, blank=True, default="")
    position = models.IntegerField(default=0)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )  # one level only: a subcategory's parent has no parent (checked in services/admin)
    read_access = models.CharField(max_length=16, choices=ReadAccess.choices, default=ReadAccess.ANYONE)
    post_access = models.CharField(max_length=16, choices=PostAccess.choices, default=PostAccess.USER)
    # Holder-only categories: lowest holder tier (a name of settings.HOLDER_TIERS) to read / to post.
    read_min_tier = models.CharField(max_length=32, choices=tier_choices, default="none")
    post_min_tier = models.CharField(max_length=32, choices=tier_choices, default="none")
    is_archived = models.BooleanField(default=False)  # readable, closed to new posts
    post_count = models.IntegerField(default=0)
    comment_count = models.IntegerField(default=0)
    # Trending: recent vote+comment velocity against the category's own baseline (ranking.py).
    trending_score = models.FloatField(default=0.0)
    trending_updated_at = models.DateTimeField(null=True, blank=True)
    # Refreshed with trending_score by the refresh_trending beat job (aggregates too costly per request).
    active_users_24h = models.IntegerField(default=0)
    trending_tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "categories"
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="categories_parent_not_self"),
        ]

    def __str__(self) -> str:
        return self.name

    ACCESS_FIELDS = ("read_access", "post_access", "read_min_tier", "post_min_tier")

    def save(self, *args, **kwargs) -> None:
        # An access value outside its choices would read as closed (apps.core.access): refuse it
        # here rather than store a category nobody meant to close.
        self.clean_fields(exclude=[f.name for f in self._meta.concrete_fields if f.name not in self.ACCESS_FIELDS])
        super().save(*args, **kwargs)


class Tag(models.Model):
    slug = models.SlugField(max_length=40, unique=True)  # normalised: lowercase, a-z0-9 and dashes
    name = models.CharField(max_length=40)  # as first written
    description = models.CharField(max_length=300, blank=True, default="")
    post_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tags"
        indexes = [
            # prefix autocomplete: slug LIKE 'q%' regardless of the database collation
            models.Index(fields=["slug"], name="tags_slug_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["-post_count", "slug"], name="tags_popular_idx"),
        ]

    def __str__(self) -> str:
        return self.slug


class Post(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts", db_index=False
    )  # indexed by posts_author_idx
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="posts")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, blank=True, default="", allow_unicode=False)
    body = models.TextField(blank=True, default="")  # Markdown source
    body_html = models.TextField(blank=True, default="")  # rendered and sanitised
    excerpt = models.CharField(max_length=300, blank=True, default="")
    tags = models.ManyToManyField(Tag, through="PostTag", related_name="posts", blank=True)
    tag_slugs = ArrayField(models.CharField(max_length=40), default=list, blank=True)  # denormalised, ordered

    status = models.CharField(
        max_length=16, choices=ContentStatus.choices, default=ContentStatus.PUBLISHED, db_index=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")
    is_pinned = models.BooleanField(default=False)
    is_locked = models.BooleanField(default=False)
    is_nsfw = models.BooleanField(default=False)  # set by its author; hidden from viewers without show_nsfw

    score = models.IntegerField(default=0)
    upvotes = models.IntegerField(default=0)
    downvotes = models.IntegerField(default=0)
    comment_count = models.IntegerField(default=0)  # published comments
    hot_rank = models.FloatField(default=0.0)
    controversy = models.FloatField(default=0.0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)  # creation or last comment
    last_comment_at = models.DateTimeField(null=True, blank=True)
    revision_count = models.IntegerField(default=1)
    # Maintained by the search area (trigger or task); nullable so the forum never depends on it.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "posts"
        indexes = [
            # Feeds: every sort is a keyset walk down one of these (published rows only).
            models.Index(fields=["-hot_rank", "-id"], name="posts_hot_idx", condition=PUBLISHED),
            models.Index(fields=["-id"], name="posts_new_idx", condition=PUBLISHED),
            models.Index(fields=["-score", "-id"], name="posts_top_idx", condition=PUBLISHED),
            models.Index(fields=["-controversy", "-id"], name="posts_controversial_idx", condition=PUBLISHED),
            models.Index(fields=["-last_activity_at", "-id"], name="posts_active_idx", condition=PUBLISHED),
            models.Index(
                fields=["category", "-is_pinned", "-hot_rank", "-id"], name="posts_cat_hot_idx", condition=PUBLISHED
            ),
            models.Index(fields=["category", "-is_pinned", "-id"], name="posts_cat_new_idx", condition=PUBLISHED),
            models.Index(fields=["category", "-score", "-id"], name="posts_cat_top_idx", condition=PUBLISHED),
            models.Index(
                fields=["category", "-controversy", "-id"], name="posts_cat_controversial_idx", condition=PUBLISHED
            ),
            models.Index(
                fields=["category", "-is_pinned", "-last_activity_at", "-id"],
                name="posts_cat_active_idx",
                condition=PUBLISHED,
            ),
            models.Index(fields=["author", "-id"], name="posts_author_idx"),
            models.Index(fields=["created_at"], name="posts_created_idx"),
            GinIndex(fields=["search_vector"], name="posts_search_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(upvotes__gte=0) & Q(downvotes__gte=0), name="posts_votes_nonneg"),
            models.CheckConstraint(condition=Q(score=models.F("upvotes") - models.F("downvotes")), name="posts_score"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_deleted(self) -> bool:
        return self.status in PLACEHOLDER_STATUSES


class PostTag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "post_tags"
        constraints = [models.UniqueConstraint(fields=["post", "tag"], name="post_tags_unique")]
        indexes = [models.Index(fields=["tag", "-post"], name="post_tags_tag_idx")]

    def __str__(self) -> str:
        return f"{self.post_id}:{self.tag_id}"


class PostRevision(models.Model):
    """Every version of a post, the original included (number 1). Never updated, never deleted."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    tag_slugs = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "post_revisions"
        ordering = ["post", "-number"]
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="post_revisions_unique_number")]

    def __str__(self) -> str:
        return f"post {self.post_id} revision {self.number}"


class Draft(models.Model):
    """Autosaved work in progress: a new post, or (with `post`) an edit of an existing one."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_drafts")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField(blank=True, default="")
    tag_slugs = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency for autosave
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "drafts"
        indexes = [models.Index(fields=["author", "-updated_at", "-id"], name="drafts_author_idx")]

    def __str__(self) -> str:
        return f"draft {self.pk} by {self.author_id}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments", db_index=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forum_comments", db_index=False
    )
    depth = models.PositiveSmallIntegerField(default=0)  # 0 at top level
    # Materialised path: the zero-padded ids of the ancestors and of the comment itself
    # ("0000000012.0000000345."), so ORDER BY path is the depth-first thread in creation order.
    path = models.CharField(max_length=255, db_collation="C")
    body = models.TextField()
    body_html = models.TextField(blank=True, default="")

    status = models.CharField(
        max_length=16, choices=ContentStatus.choices, default=ContentStatus.PUBLISHED, db_index=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")

    score = models.IntegerField(default=0)
    upvotes = models.IntegerField(default=0)
    downvotes = models.IntegerField(default=0)
    best_rank = models.FloatField(default=0.0)  # Wilson score lower bound of upvotes/(up+down)
    reply_count = models.IntegerField(default=0)  # direct replies, any status

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "comments"
        indexes = [
            models.Index(fields=["post", "path"], name="comments_thread_idx"),
            # sort=new: the path with its digits inverted is the thread with siblings newest first.
            models.Index(
                F("post"),
                Func(F("path"), Value("0123456789"), Value("9876543210"), function="translate"),
                name="comments_thread_new_idx",
            ),
            # Covering index: a thread's light tree (selectors.comment_thread) is an index-only scan.
            models.Index(
                fields=["post"],
                include=["id", "parent", "status", "author", "score", "best_rank"],
                name="comments_tree_idx",
            ),
            models.Index(fields=["author", "-id"], name="comments_author_idx"),
            models.Index(fields=["created_at"], name="comments_created_idx"),
            GinIndex(fields=["search_vector"], name="comments_search_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(upvotes__gte=0) & Q(downvotes__gte=0), name="comments_votes_nonneg"),
            models.CheckConstraint(
                condition=Q(score=models.F("upvotes") - models.F("downvotes")), name="comments_score"
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, depth=0) | Q(parent__isnull=False, depth__gt=0),
                name="comments_depth_matches_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on post {self.post_id}"

    @property
    def is_deleted(self) -> bool:
        return self.status in PLACEHOLDER_STATUSES


class Vote(models.Model):
    """One vote per user per item. A post vote has `comment` NULL; a comment vote names its comment
    and (denormalised) the comment's post, so a thread's votes by one user are one index range.
    Retracting deletes the row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_votes", db_index=False
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes", db_index=False)
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="votes")
    value = models.SmallIntegerField()  # 1 or -1
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "votes"
        constraints = [
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="votes_value_pm1"),
            models.UniqueConstraint(
                fields=["user", "post"], condition=Q(comment__isnull=True), name="votes_one_per_user_post"
            ),
            models.UniqueConstraint(
                fields=["user", "comment"], condition=Q(comment__isnull=False), name="votes_one_per_user_comment"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "post"], name="votes_user_post_idx"),
            models.Index(fields=["user", "-updated_at", "-id"], name="votes_user_history_idx"),
            models.Index(fields=["post", "-created_at"], name="votes_post_recent_idx"),
        ]

    def __str__(self) -> str:
        target = f"comment {self.comment_id}" if self.comment_id else f"post {self.post_id}"
        return f"{self.value:+d} by {self.user_id} on {target}"
