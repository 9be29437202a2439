"""Periodic jobs of the privacy app (settings.BEAT_SCHEDULE in components/privacy.py)."""

from __future__ import annotations

from celery import shared_task

from apps.privacy import services


@shared_task(name="apps.privacy.tasks.ip_scrub")
def ip_scrub() -> dict[str, int]:
    return services.ip_scrub()
