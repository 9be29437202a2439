"""Celery tasks: thin, idempotent wrappers over services (beat runs them; see components/market.py)."""

from __future__ import annotations

from celery import shared_task

from apps.market import services


@shared_task(name="apps.market.tasks.poll_market", ignore_result=True)
def poll_market() -> bool:
    """One poll of the sources (skipped if another poll is running). True when a quote was accepted."""
    result = services.poll_guarded()
    return bool(result and result.ok)


@shared_task(name="apps.market.tasks.enforce_market_retention", ignore_result=True)
def enforce_market_retention() -> dict[str, int]:
    return services.enforce_retention()
