"""Celery tasks: thin, idempotent, ids in."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from apps.gamification import jobs, services


@shared_task
def award_milestone_witnesses(milestone_id: int) -> int:
    return services.milestone_witnessed(milestone_id=milestone_id)


@shared_task
def detect_vote_rings() -> int:
    return len(jobs.detect_vote_rings())


@shared_task
def prune_activity_log() -> int:
    return jobs.prune_activity_log()


@shared_task
def grant_standing_achievements() -> int:
    return jobs.grant_standing_achievements()


@shared_task
def rebuild_leaderboards() -> int:
    """The table (and public standings) from the ledger under the current read rules, then Redis."""
    rows = jobs.rebuild_leaderboard_table()
    services.rebuild_redis_leaderboards()
    return rows


@shared_task
def rebuild_redis_leaderboards() -> int:
    return services.rebuild_redis_leaderboards()


@shared_task
def rebuild_redis_board(period: str, start: str, category_id: int) -> int:
    return services.rebuild_redis_board(period=period, start=dt.date.fromisoformat(start), category_id=category_id)


@shared_task
def compact_leaderboard_counts() -> int:
    return jobs.compact_leaderboard_counts()
