from celery import shared_task


@shared_task(name="apps.media.tasks.generate_variants", autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def generate_variants(asset_id: int) -> str:
    from apps.media.services import media_generate_variants

    asset = media_generate_variants(asset_id=asset_id)
    return asset.status if asset else "missing"


@shared_task(name="apps.media.tasks.cleanup_orphan_media")
def cleanup_orphan_media() -> int:
    from apps.media.services import cleanup_orphans

    return cleanup_orphans()
