"""Batch work behind the moderation Celery tasks: releasing stale claims."""

from __future__ import annotations

from apps.moderation.models import Reviewable
from apps.moderation.services.queue import claim_expiry


def expire_claims() -> int:
    """Release claims older than MODERATION_CLAIM_MINUTES (idempotent). Returns how many."""
    return Reviewable.objects.filter(claimed_at__lt=claim_expiry()).update(claimed_by=None, claimed_at=None)
