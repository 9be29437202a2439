"""Query filters of search (see apps.core.filters). What a viewer may find is the search
selector's rule; these only narrow the results. `q` (the query text), `page` and `limit` are not
filters."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import UtcDateTimeFilter
from apps.forum.models import Post
from apps.search.api.serializers import PERIODS
from apps.search.selectors import SORTS, TYPES


class SearchFilter(filters.FilterSet):
    """`GET /api/search`."""

    type = filters.ChoiceFilter(choices=[(t, t) for t in TYPES], help_text="post (default), comment, user.")
    sort = filters.ChoiceFilter(choices=[(x, x) for x in SORTS], help_text="Default relevance.")
    category = filters.CharFilter(max_length=200, help_text="Category slug.")
    tag = filters.CharFilter(max_length=200, help_text="Tag slug.")
    author = filters.CharFilter(max_length=200, help_text="Author id or username.")
    period = filters.ChoiceFilter(choices=[(p, p) for p in PERIODS], help_text="Only what was written within it.")
    # `from`/`to` are Python keywords: declared through the class namespace.
    locals()["from"] = UtcDateTimeFilter(help_text="ISO 8601 time, inclusive.")
    locals()["to"] = UtcDateTimeFilter(help_text="ISO 8601 time, exclusive.")

    class Meta:
        model = Post
        fields: list[str] = []
