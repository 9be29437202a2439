"""UTC leaderboard periods: day, week (ISO, Monday), month, all time."""

from __future__ import annotations

import datetime as dt

from apps.gamification.models import LeaderboardPeriod

ALL_TIME_START = dt.date(1970, 1, 1)
PERIODS = [p.value for p in LeaderboardPeriod]
ALIASES = {
    "daily": "day",
    "today": "day",
    "weekly": "week",
    "monthly": "month",
    "all-time": "all",
    "alltime": "all",
    "all_time": "all",
}


def normalise_period(raw: str | None, default: str = "week") -> str | None:
    value = (raw or default).strip().lower()
    value = ALIASES.get(value, value)
    return value if value in PERIODS else None


def period_start(period: str, when: dt.datetime | dt.date) -> dt.date:
    day = when.astimezone(dt.UTC).date() if isinstance(when, dt.datetime) else when
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return ALL_TIME_START


def period_starts(when: dt.datetime | dt.date) -> list[tuple[str, dt.date]]:
    return [(p, period_start(p, when)) for p in PERIODS]


def day_start(when: dt.datetime) -> dt.datetime:
    day = when.astimezone(dt.UTC).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
