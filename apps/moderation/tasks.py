from celery import shared_task


@shared_task(name="apps.moderation.tasks.expire_claims")
def expire_claims() -> int:
    """Release claims older than MODERATION_CLAIM_MINUTES (idempotent)."""
    from apps.moderation.services import expire_claims as _expire

    return _expire()
