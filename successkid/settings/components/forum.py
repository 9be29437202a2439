"""Forum settings. Every name can be overridden from the environment."""

from datetime import timedelta

from successkid.settings.env import env

FORUM_TITLE_MIN_LENGTH = env.int("FORUM_TITLE_MIN_LENGTH", default=3)
FORUM_TITLE_MAX_LENGTH = env.int("FORUM_TITLE_MAX_LENGTH", default=300)
FORUM_POST_BODY_MAX_LENGTH = env.int("FORUM_POST_BODY_MAX_LENGTH", default=40_000)
FORUM_COMMENT_BODY_MAX_LENGTH = env.int("FORUM_COMMENT_BODY_MAX_LENGTH", default=10_000)
FORUM_MAX_TAGS_PER_POST = env.int("FORUM_MAX_TAGS_PER_POST", default=5)
FORUM_TAG_MAX_LENGTH = 40
# Replies nest at most this deep (top-level comments have depth 0).
FORUM_COMMENT_MAX_DEPTH = env.int("FORUM_COMMENT_MAX_DEPTH", default=8)
# Whether members may create tags by using them (moderators always may); else an unknown tag is a 400.
FORUM_ALLOW_NEW_TAGS = env.bool("FORUM_ALLOW_NEW_TAGS", default=False)
FORUM_EXCERPT_LENGTH = 280
FORUM_MAX_DRAFTS_PER_USER = env.int("FORUM_MAX_DRAFTS_PER_USER", default=50)

# Hot rank (see apps/forum/ranking.py): gravity and the window after which a post is cold.
FORUM_HOT_GRAVITY = env.float("FORUM_HOT_GRAVITY", default=1.8)
FORUM_HOT_WINDOW_DAYS = env.int("FORUM_HOT_WINDOW_DAYS", default=7)
FORUM_HOT_DECAY_BATCH = env.int("FORUM_HOT_DECAY_BATCH", default=5000)
# Trending: velocity over the recent window against the baseline window.
FORUM_TRENDING_RECENT_HOURS = env.int("FORUM_TRENDING_RECENT_HOURS", default=6)
FORUM_TRENDING_BASELINE_DAYS = env.int("FORUM_TRENDING_BASELINE_DAYS", default=7)

BEAT_SCHEDULE = {
    "forum-decay-hot-ranks": {"task": "apps.forum.tasks.decay_hot_ranks", "schedule": timedelta(minutes=10)},
    "forum-refresh-trending": {"task": "apps.forum.tasks.refresh_trending", "schedule": timedelta(minutes=15)},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {"apps.forum.tasks.*": {"queue": "batch"}}
