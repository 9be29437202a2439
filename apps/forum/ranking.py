"""Ranking formulas, in Python (for tests and fresh rows) and in SQL (for atomic updates and the
decay job). Both forms must agree; tests/forum/test_ranking.py checks that they do.

Hot (posts), gravity-based like Lemmy, with its pitfalls handled:

    hot = 10000 * log10(max(1, score + 3)) / (max(age_hours, 0) + 2) ** GRAVITY
    and hot = 0 once the post is older than FORUM_HOT_WINDOW_DAYS (a "cold" row).

  * `score + 3` keeps log10 away from log10(1) = 0 for a new post with score 0 or 1: a fresh,
    unvoted post ranks above a buried one, and one upvote already counts (Reddit's log10(max(|s|, 1))
    makes scores 0 and 1 equal). Scores of -2 and below all floor at 0 (buried; ordered by id).
  * `max(age, 0)` stops a future-dated row (clock skew, imported data) from dividing by a number
    below 2 or going negative; `+ 2` bounds the rank of a brand-new post.
  * Gravity-based ranks decay with time, so they are refreshed on every vote (inside the vote's
    UPDATE) and by a batched Celery beat job (`decay_hot_ranks`) that only touches rows inside the
    hot window or not yet zeroed: cold rows are skipped, so the job's cost follows recent activity,
    not table size. Reddit's alternative (log(score) + created/45000) never decays and needs no
    job, but then the ordering is mostly by creation time and old threads can never resurface;
    gravity lets a busy thread stay on top for a day without a time-based constant.

Controversy (posts), Reddit's:

    controversy = (up + down) ** (min(up, down) / max(up, down))   if up > 0 and down > 0, else 0

  Many votes split evenly rank highest; a one-sided post is not controversial at all. It does not
  decay, so it only changes on votes.

Best (comments): the lower bound of the Wilson score interval (95 %) of the upvote ratio, so a
comment with 10 up / 1 down beats one with 1 up / 0 down (Evan Miller, "How not to sort by
average rating"). Stored as `best_rank`, refreshed in the vote's UPDATE.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.utils import timezone

Z = 1.96  # 95 % confidence


def gravity() -> float:
    return float(settings.FORUM_HOT_GRAVITY)


def window_hours() -> float:
    return float(settings.FORUM_HOT_WINDOW_DAYS) * 24.0


def hot(score: int, created_at: datetime, now: datetime | None = None) -> float:
    now = now or timezone.now()
    age_hours = max((now - created_at).total_seconds() / 3600.0, 0.0)
    if age_hours > window_hours():
        return 0.0
    return 10000.0 * math.log10(max(1, score + 3)) / (age_hours + 2.0) ** gravity()


def controversy(upvotes: int, downvotes: int) -> float:
    if upvotes <= 0 or downvotes <= 0:
        return 0.0
    return float(upvotes + downvotes) ** (min(upvotes, downvotes) / max(upvotes, downvotes))


def wilson(upvotes: int, downvotes: int) -> float:
    n = upvotes + downvotes
    if n <= 0:
        return 0.0
    p = upvotes / n
    return (p + Z * Z / (2 * n) - Z * math.sqrt((p * (1 - p) + Z * Z / (4 * n)) / n)) / (1 + Z * Z / n)


# --- SQL twins. `score`, `up`, `down`, `created` are SQL expressions (columns or placeholders). ---


def hot_sql(score: str = "score", created: str = "created_at", now: str = "now()") -> str:
    age = f"GREATEST(EXTRACT(EPOCH FROM ({now} - {created})) / 3600.0, 0)"
    return (
        f"(CASE WHEN {age} > {window_hours():.6f} THEN 0.0 "
        f"ELSE 10000.0 * LOG(GREATEST(1, ({score}) + 3)::numeric)::float8 "
        f"/ POWER({age}::float8 + 2.0, {gravity():.6f}) END)"
    )


def controversy_sql(up: str = "upvotes", down: str = "downvotes") -> str:
    return (
        f"(CASE WHEN ({up}) > 0 AND ({down}) > 0 THEN "
        f"POWER((({up}) + ({down}))::float8, LEAST({up}, {down})::float8 / GREATEST({up}, {down})::float8) "
        f"ELSE 0.0 END)"
    )


def wilson_sql(up: str = "upvotes", down: str = "downvotes") -> str:
    n = f"(({up}) + ({down}))::float8"
    p = f"(({up})::float8 / {n})"
    z2 = Z * Z
    return (
        f"(CASE WHEN ({up}) + ({down}) <= 0 THEN 0.0 ELSE "
        f"({p} + {z2} / (2 * {n}) - {Z} * SQRT(({p} * (1 - {p}) + {z2} / (4 * {n})) / {n})) / (1 + {z2} / {n}) END)"
    )
