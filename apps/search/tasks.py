"""Periodic jobs (settings.BEAT_SCHEDULE in components/search.py): thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.search import services


@shared_task(name="apps.search.tasks.prune_search_log")
def prune_search_log() -> int:
    return services.search_log_prune()


@shared_task(name="apps.search.tasks.refresh_vocabulary")
def refresh_vocabulary() -> int:
    return services.vocabulary_refresh()
