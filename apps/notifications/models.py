"""Notifications, per-user settings and subscriptions (watch / track / mute)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """One row per user per notification. A consolidated notification ("12 people upvoted your
    post") is one unread row per (user, group_key) whose `count` and `actors` grow; once read, the
    next vote starts a new row. `created_at` is the time of the latest activity."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=48)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    link = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    group_key = models.CharField(max_length=120, null=True, blank=True)
    dedupe_key = models.CharField(max_length=160, null=True, blank=True)
    count = models.PositiveIntegerField(default=1)
    actor_ids = models.JSONField(default=list, blank=True)  # newest first, at most 500 (re-votes are not counted)
    in_app = models.BooleanField(default=True)  # False: kept only to be emailed
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    first_created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications"
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notifications_feed_idx"),
            # The unread count reads this small index only: `WHERE read_at IS NULL AND in_app`.
            models.Index(
                fields=["user"], name="notifications_unread_idx", condition=Q(read_at__isnull=True, in_app=True)
            ),
            models.Index(
                fields=["user", "created_at"],
                name="notifications_to_email_idx",
                condition=Q(email_wanted=True, emailed_at__isnull=True, read_at__isnull=True),
            ),
            models.Index(fields=["expires_at"], name="notifications_expiry_idx", condition=Q(expires_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group_key"],
                condition=Q(read_at__isnull=True, group_key__isnull=False),
                name="notifications_one_unread_group",
            ),
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], condition=Q(dedupe_key__isnull=False), name="notifications_dedupe"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} for {self.user_id}: {self.title}"

    @property
    def read(self) -> bool:
        return self.read_at is not None


class EmailFrequency(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"
    OFF = "off", "Never"


class NotificationSettings(models.Model):
    """A user's choices: per type and channel (`types` = {type: {"in_app": bool, "email": bool}},
    missing entries take the type's defaults), email frequency, do-not-disturb."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_settings"
    )
    types = models.JSONField(default=dict, blank=True)
    email_frequency = models.CharField(max_length=16, choices=EmailFrequency.choices, default=EmailFrequency.DAILY)
    dnd_until = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_settings"
        indexes = [models.Index(fields=["email_frequency"], name="notification_settings_freq_idx")]

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class TargetType(models.TextChoices):
    CATEGORY = "category", "Category"
    THREAD = "thread", "Thread"
    USER = "user", "User"


class Level(models.TextChoices):
    WATCH = "watch", "Watch: every new post or reply"
    TRACK = "track", "Track: only replies and mentions (the default)"
    MUTE = "mute", "Mute: nothing"


class Subscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    level = models.CharField(max_length=8, choices=Level.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "subscriptions"
        constraints = [
            models.UniqueConstraint(fields=["user", "target_type", "target_id"], name="subscriptions_unique_target")
        ]
        indexes = [
            # "who watches category 7 / thread 42": the fan-out query of new posts and replies.
            models.Index(fields=["target_type", "target_id", "level"], name="subscriptions_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.level}s {self.target_type} {self.target_id}"
