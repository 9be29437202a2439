"""Query filters of the forum's list endpoints (see apps.core.filters). Which posts a viewer may
read is the selectors' rule (apps.forum.selectors); these only narrow the feed."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import IntegerFilter
from apps.forum import selectors
from apps.forum.models import Post


class PostFeedFilter(filters.FilterSet):
    """`GET /api/posts`."""

    category = filters.CharFilter(max_length=100, help_text="Category slug (includes its subcategories).")
    tag = filters.CharFilter(max_length=100, help_text="Tag slug.")
    author = IntegerFilter(help_text="Author user id.")
    period = filters.ChoiceFilter(
        choices=[(p, p) for p in selectors.PERIODS], help_text="Only posts created within it (default all)."
    )

    class Meta:
        model = Post
        fields: list[str] = []
