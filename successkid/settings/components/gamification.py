"""Gamification: points ledger, anti-abuse rules, leaderboards (see README "### Gamification")."""

from celery.schedules import crontab

from successkid.settings.env import env

# Overall cap on points a user can earn per UTC day from activities that count toward it.
GAMIFICATION_DAILY_CAP = env.int("GAMIFICATION_DAILY_CAP", default=500)
# Votes from accounts younger than this (hours), or without a verified email or wallet, earn nothing.
GAMIFICATION_MIN_VOTER_AGE_HOURS = env.int("GAMIFICATION_MIN_VOTER_AGE_HOURS", default=72)
GAMIFICATION_REQUIRE_VERIFIED_VOTER = env.bool("GAMIFICATION_REQUIRE_VERIFIED_VOTER", default=True)
# Diminishing returns: the same voter's upvotes for the same author within the window earn full
# points this many times, then half as much each further time (down to nothing).
GAMIFICATION_SAME_VOTER_FULL_AWARDS = env.int("GAMIFICATION_SAME_VOTER_FULL_AWARDS", default=3)
GAMIFICATION_SAME_VOTER_WINDOW_DAYS = env.int("GAMIFICATION_SAME_VOTER_WINDOW_DAYS", default=30)
# Vote-ring detection (nightly): a "heavy" edge is voter -> author with at least MIN_VOTES upvotes
# in the window AND at least SHARE of all the voter's upvotes; a ring is a cycle of heavy edges
# (a strongly connected group of 2..MAX_SIZE users).
GAMIFICATION_RING_WINDOW_DAYS = env.int("GAMIFICATION_RING_WINDOW_DAYS", default=7)
GAMIFICATION_RING_MIN_VOTES = env.int("GAMIFICATION_RING_MIN_VOTES", default=5)
GAMIFICATION_RING_MIN_SHARE = env.float("GAMIFICATION_RING_MIN_SHARE", default=0.5)
GAMIFICATION_RING_MAX_SIZE = env.int("GAMIFICATION_RING_MAX_SIZE", default=8)
GAMIFICATION_ACTIVITY_LOG_RETENTION_DAYS = env.int("GAMIFICATION_ACTIVITY_LOG_RETENTION_DAYS", default=90)
# Users active within this many hours before a market milestone "witness" it.
GAMIFICATION_MILESTONE_WITNESS_HOURS = env.int("GAMIFICATION_MILESTONE_WITNESS_HOURS", default=24)
# leaderboard.changed is broadcast at most once per this many seconds.
GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS = env.int("GAMIFICATION_LEADERBOARD_BROADCAST_SECONDS", default=10)
# Redis holding the leaderboards' sorted sets; empty = answer from PostgreSQL alone.
GAMIFICATION_REDIS_URL = env("GAMIFICATION_REDIS_URL", default=env("REDIS_URL", default=""))
GAMIFICATION_REDIS_PREFIX = env("GAMIFICATION_REDIS_PREFIX", default="sk:lb")

BEAT_SCHEDULE = {
    "gamification-detect-vote-rings": {
        "task": "apps.gamification.tasks.detect_vote_rings",
        "schedule": crontab(hour=3, minute=10),
    },
    "gamification-prune-activity-log": {
        "task": "apps.gamification.tasks.prune_activity_log",
        "schedule": crontab(hour=4, minute=0),
    },
    "gamification-standing-achievements": {
        "task": "apps.gamification.tasks.grant_standing_achievements",
        "schedule": crontab(hour=0, minute=15),
    },
    # Fold the leaderboards' score-count deltas into the counts (ranks are exact either way; this
    # keeps the deltas a reader sums few).
    "gamification-compact-leaderboard-counts": {
        "task": "apps.gamification.tasks.compact_leaderboard_counts",
        "schedule": 60.0,
    },
    "gamification-rebuild-redis-leaderboards": {
        "task": "apps.gamification.tasks.rebuild_redis_leaderboards",
        "schedule": crontab(hour=2, minute=30),
    },
}
LEADERBOARD_PAGE_CACHE_SECONDS = env.int("LEADERBOARD_PAGE_CACHE_SECONDS", default=60)

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {
    "apps.gamification.tasks.rebuild_redis_board": {"queue": "interactive"},
    "apps.gamification.tasks.*": {"queue": "batch"},
}
