"""Query filters of the leaderboards (see apps.core.filters). Which users appear, and how, stays
the selectors' rule."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.gamification.models import LeaderboardEntry
from apps.gamification.periods import ALIASES, PERIODS


class LeaderboardFilter(filters.FilterSet):
    """`GET /api/leaderboard`."""

    period = filters.ChoiceFilter(
        choices=[(p, p) for p in [*PERIODS, *ALIASES]], help_text="Default week (aliases such as weekly accepted)."
    )
    category = filters.CharFilter(max_length=100, help_text="Forum category slug (or id); omit for global.")
    date = filters.DateFilter(help_text="A day inside the period wanted (YYYY-MM-DD; default today, UTC).")
    around = filters.ChoiceFilter(choices=[("me", "me")], help_text="Centre on the caller (signed in).")

    class Meta:
        model = LeaderboardEntry
        fields: list[str] = []
