"""Periodic moderation jobs (scheduled in successkid/settings/components/moderation.py)."""

from __future__ import annotations

from celery import shared_task

from apps.moderation import jobs


@shared_task(name="apps.moderation.tasks.expire_claims")
def expire_claims() -> int:
    """Release claims older than MODERATION_CLAIM_MINUTES (idempotent)."""
    return jobs.expire_claims()
