"""Uploaded images. The stored original is always our own re-encoding (metadata stripped), under a
generated name; variants are made by a Celery task."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class MediaStatus(models.TextChoices):
    PROCESSING = "processing", "Processing variants"
    READY = "ready", "Ready"
    FAILED = "failed", "Variants failed"


class MediaAsset(models.Model):
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_assets")
    purpose = models.CharField(max_length=16, default="post")  # post | avatar
    status = models.CharField(max_length=16, choices=MediaStatus.choices, default=MediaStatus.PROCESSING)
    file = models.CharField(max_length=255)  # storage name of the re-encoded original
    format = models.CharField(max_length=8)  # JPEG | PNG | GIF | WEBP
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frames = models.PositiveIntegerField(default=1)
    bytes = models.PositiveBigIntegerField()  # stored size
    original_bytes = models.PositiveBigIntegerField()  # uploaded size (counts against the quota)
    sha256 = models.CharField(max_length=64)  # of the uploaded bytes
    # {"thumbnail": {"file", "width", "height", "content_type"}, "medium": ..., "webp": ...}
    variants = models.JSONField(default=dict, blank=True)
    # Set when a post, comment or profile uses the asset; unattached assets are orphans after a while.
    attached_at = models.DateTimeField(null=True, blank=True)
    attached_to = models.CharField(max_length=64, blank=True, default="")  # e.g. "post:42"
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "media_assets"
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="media_owner_recent_idx"),
            models.Index(fields=["created_at"], name="media_orphans_idx", condition=models.Q(attached_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.width}x{self.height} ({self.key})"
