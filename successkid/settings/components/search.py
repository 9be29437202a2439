"""Search settings. Every name can be overridden from the environment."""

from datetime import timedelta

from successkid.settings.env import env

# Bad input: a query longer than this is a 400; words beyond SEARCH_MAX_TERMS are dropped.
SEARCH_MAX_QUERY_LENGTH = env.int("SEARCH_MAX_QUERY_LENGTH", default=256)
SEARCH_MAX_TERMS = env.int("SEARCH_MAX_TERMS", default=16)
# Ranking works on at most this many matching rows (the newest ones for relevance and new, the best for
# `top`); `meta.pagination.total` is capped at it and `meta.total_capped` says so.
SEARCH_CANDIDATE_LIMIT = env.int("SEARCH_CANDIDATE_LIMIT", default=300)
# Every search statement runs under this timeout (ms); a query that hits it is a 400, never a hang.
SEARCH_STATEMENT_TIMEOUT_MS = env.int("SEARCH_STATEMENT_TIMEOUT_MS", default=3000)
# relevance = text × (SEARCH_WEIGHT_TEXT + SEARCH_WEIGHT_VOTES·votes + SEARCH_WEIGHT_FRESH·freshness)
SEARCH_WEIGHT_TEXT = env.float("SEARCH_WEIGHT_TEXT", default=0.70)
SEARCH_WEIGHT_VOTES = env.float("SEARCH_WEIGHT_VOTES", default=0.15)
SEARCH_WEIGHT_FRESH = env.float("SEARCH_WEIGHT_FRESH", default=0.15)
SEARCH_VOTES_SATURATION = env.int("SEARCH_VOTES_SATURATION", default=1000)  # score where votes reach 1
SEARCH_FRESHNESS_HALF_LIFE_DAYS = env.float("SEARCH_FRESHNESS_HALF_LIFE_DAYS", default=30.0)
# Cached result pages (ids + total; rows are re-read fresh): seconds, versioned keys.
SEARCH_CACHE_SECONDS = env.int("SEARCH_CACHE_SECONDS", default=120)
SEARCH_SUGGEST_LIMIT = env.int("SEARCH_SUGGEST_LIMIT", default=5)
SEARCH_RELATED_LIMIT = env.int("SEARCH_RELATED_LIMIT", default=5)
# Search log and trending.
SEARCH_LOG_RETENTION_DAYS = env.int("SEARCH_LOG_RETENTION_DAYS", default=14)
SEARCH_LOG_MAX_ROWS = env.int("SEARCH_LOG_MAX_ROWS", default=200_000)
SEARCH_TRENDING_HOURS = env.int("SEARCH_TRENDING_HOURS", default=24)
SEARCH_TRENDING_BASELINE_DAYS = env.int("SEARCH_TRENDING_BASELINE_DAYS", default=7)
SEARCH_TRENDING_MIN_SEARCHERS = env.int("SEARCH_TRENDING_MIN_SEARCHERS", default=3)
SEARCH_TRENDING_CACHE_SECONDS = env.int("SEARCH_TRENDING_CACHE_SECONDS", default=300)

BEAT_SCHEDULE = {
    "search-prune-log": {"task": "apps.search.tasks.prune_search_log", "schedule": timedelta(hours=1)},
    "search-refresh-vocabulary": {"task": "apps.search.tasks.refresh_vocabulary", "schedule": timedelta(hours=1)},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {"apps.search.tasks.*": {"queue": "batch"}}
