"""Periodic forum jobs (scheduled in successkid/settings/components/forum.py)."""

from __future__ import annotations

from celery import shared_task

from apps.forum import jobs


@shared_task(name="apps.forum.tasks.decay_hot_ranks", ignore_result=True)
def decay_hot_ranks() -> int:
    return jobs.decay_hot_ranks()


@shared_task(name="apps.forum.tasks.refresh_trending", ignore_result=True)
def refresh_trending() -> int:
    return jobs.refresh_trending()
