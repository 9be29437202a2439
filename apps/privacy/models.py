"""The privacy app's own records: one row per closed account, with no personal data in it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AccountErasure(models.Model):
    """Audit entry of an account deletion: which (now anonymous) account row, when, how it was
    confirmed, and how many rows each area removed or detached. No username, email or IP: the
    point of the record is to prove the deletion happened, not to remember who asked."""

    user_id = models.BigIntegerField(unique=True)  # the anonymised tombstone row (no FK: it outlives nothing)
    method = models.CharField(max_length=16)  # "password" | "confirm"
    counts = models.JSONField(default=dict)  # {"forum": {"posts_detached": 3, ...}, ...}
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=1)  # >1 when a retry re-ran the erasers

    class Meta:
        db_table = "privacy_account_erasures"
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"erasure of account {self.user_id}"


class IpScrubRun(models.Model):
    """One run of the IP retention job: what it touched (counts only)."""

    ran_at = models.DateTimeField(default=timezone.now, db_index=True)
    cutoff = models.DateTimeField()
    counts = models.JSONField(default=dict)

    class Meta:
        db_table = "privacy_ip_scrub_runs"
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"ip scrub at {self.ran_at:%Y-%m-%d %H:%M}"
