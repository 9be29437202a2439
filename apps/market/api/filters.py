"""Query filters of the market's list endpoints (see apps.core.filters)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import UtcDateTimeFilter
from apps.market.jobs import INTERVAL_SECONDS
from apps.market.models import MarketCandle


class HistoryFilter(filters.FilterSet):
    """`GET /api/market/history`: the range checks that need all three values stay in the view."""

    interval = filters.ChoiceFilter(choices=[(i, i) for i in INTERVAL_SECONDS], help_text="Default 1h.")
    # `from`/`to` are Python keywords: declared through the class namespace.
    locals()["from"] = UtcDateTimeFilter(help_text="ISO 8601 (UTC if no offset); default 1,000 intervals before `to`.")
    locals()["to"] = UtcDateTimeFilter(help_text="ISO 8601 (UTC if no offset); default now.")

    class Meta:
        model = MarketCandle
        fields: list[str] = []
