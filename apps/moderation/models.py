"""Moderation tables: reports, the reviewable queue, reporter accuracy, the audit log, watched words.

A *report* is one user's flag on one item (post, comment or user). Open reports on the same item
gather into one pending *reviewable* whose `score` is the sum of the reporters' weights (trust and
past accuracy, see scoring.py). A moderator resolves the reviewable with an action; its reports are
then agreed, rejected or ignored, which moves each reporter's accuracy for next time.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import User


class TargetType(models.TextChoices):
    POST = "post", "Post"
    COMMENT = "comment", "Comment"
    USER = "user", "User"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam"
    ABUSE = "abuse", "Abuse or harassment"
    OFF_TOPIC = "off-topic", "Off-topic"
    SCAM = "scam", "Scam or phishing"
    ILLEGAL = "illegal", "Illegal content"
    OTHER = "other", "Other"


# Reasons the system adds to a reviewable (never a user's report reason).
SYSTEM_REASONS = {
    "watched_word": "Watched word",
    "needs_approval": "New user's post awaiting approval",
    "vote_ring": "Vote ring (points already reversed by gamification)",
}
ALL_REASONS = [*ReportReason.choices, *SYSTEM_REASONS.items()]


class ReviewableKind(models.TextChoices):
    FLAGGED = "flagged", "Flagged by reports"
    QUEUED = "queued", "Held for approval"


class ReviewableStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"  # flags upheld / queued content approved
    REJECTED = "rejected", "Rejected"  # flags rejected / queued content rejected
    IGNORED = "ignored", "Ignored"


class Reviewable(models.Model):
    kind = models.CharField(max_length=16, choices=ReviewableKind.choices, default=ReviewableKind.FLAGGED)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    # The author of the post/comment, or the reported user: whom an action falls on.
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.ForeignKey("forum.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    post_id_ref = models.BigIntegerField(null=True, blank=True)  # the thread, for posts and comments
    status = models.CharField(max_length=16, choices=ReviewableStatus.choices, default=ReviewableStatus.PENDING)
    score = models.FloatField(default=0.0)
    report_count = models.IntegerField(default=0)
    reasons = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    auto_hidden = models.BooleanField(default=False)  # the score hid the content; a rejection restores it
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=32, blank=True, default="")  # the action that closed it
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "reviewables"
        constraints = [
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=Q(status="pending"),
                name="reviewables_one_pending_per_target",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "-id"], name="reviewables_queue_idx"),
            models.Index(fields=["target_type", "target_id"], name="reviewables_target_idx"),
            models.Index(fields=["target_user", "-id"], name="reviewables_target_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_type_display()} {self.target_id} ({self.status}, score {self.score:.1f})"

    @property
    def claim_active(self) -> bool:
        from datetime import timedelta

        return bool(
            self.claimed_by_id
            and self.claimed_at
            and self.claimed_at > timezone.now() - timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)
        )


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    AGREED = "agreed", "Agreed"
    REJECTED = "rejected", "Rejected"
    IGNORED = "ignored", "Ignored"


class Report(models.Model):
    reviewable = models.ForeignKey(Reviewable, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    note = models.TextField(max_length=1000, blank=True, default="")
    weight = models.FloatField(default=1.0)  # the reporter's weight when reporting
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reports"
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(status="open"),
                name="reports_one_open_per_reporter_target",
            ),
        ]
        indexes = [
            models.Index(fields=["reporter", "-created_at"], name="reports_reporter_recent_idx"),
            models.Index(fields=["reviewable", "-weight"], name="reports_reviewable_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} report by {self.reporter_id} on {self.target_type} {self.target_id}"


class ReporterStats(models.Model):
    """How a user's past reports were judged: the accuracy part of their weight."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="reporter_stats"
    )
    agreed = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    ignored = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "moderation_reporter_stats"
        verbose_name_plural = "reporter stats"

    def __str__(self) -> str:
        return f"reporter {self.user_id}: +{self.agreed} -{self.rejected}"


class AuditAction(models.TextChoices):
    HIDE = "hide", "Hide"
    REMOVE = "remove", "Remove"
    RESTORE = "restore", "Restore"
    APPROVE = "approve", "Approve"
    LOCK = "lock", "Lock"
    UNLOCK = "unlock", "Unlock"
    PIN = "pin", "Pin"
    UNPIN = "unpin", "Unpin"
    WARN = "warn", "Warn"
    SUSPEND = "suspend", "Suspend"
    BAN = "ban", "Ban"
    UNSUSPEND = "unsuspend", "Lift suspension/ban"
    DISMISS = "dismiss", "Dismiss reports"
    AGREE = "agree", "Agree with reports"
    IGNORE = "ignore", "Ignore"
    AUTO_HIDE = "auto_hide", "Auto-hide (report score)"
    CLAIM = "claim", "Claim"
    UNCLAIM = "unclaim", "Release claim"
    WATCHED_WORD = "watched_word", "Watched word changed"


class AuditLogEntry(models.Model):
    """Append-only: who did what to which target, why, and the state before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # NULL: the system (auto-hide)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewable = models.ForeignKey(
        Reviewable, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "moderation_audit_log"
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_target_idx"),
            models.Index(fields=["target_user", "-id"], name="audit_target_user_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_id} by {self.actor_id or 'system'}"


class WatchedWordAction(models.TextChoices):
    BLOCK = "block", "Block the post"
    FLAG = "flag", "Publish and flag for review"
    REQUIRE_APPROVAL = "require_approval", "Hold for approval"


class WatchedWord(models.Model):
    """A word or phrase (`*` matches any letters) checked against new posts and comments."""

    word = models.CharField(max_length=100)
    action = models.CharField(max_length=20, choices=WatchedWordAction.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "watched_words"
        ordering = ["word"]
        constraints = [models.UniqueConstraint(Lower("word"), name="watched_words_word_ci_unique")]

    def __str__(self) -> str:
        return f"{self.word} ({self.action})"


class ModeratedUser(User):
    """The member page of the moderation admin (history, suspend/ban): a proxy, no table."""

    class Meta:
        proxy = True
        verbose_name = "member (moderation)"
        verbose_name_plural = "members (moderation)"
