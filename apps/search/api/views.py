from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.client_address import client_address
from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.exceptions import ValidationFailed
from apps.core.filters import FilteredView
from apps.core.pagination import PagePagination, parse_limit
from apps.core.sparse import SparseFieldsetMixin, serializer_fields
from apps.search import cache as search_cache
from apps.search import selectors, services
from apps.search.api import serializers as s
from apps.search.api.filters import SearchFilter
from apps.search.query import parse

HIT_SERIALIZERS = {"post": s.PostHitSerializer, "comment": s.CommentHitSerializer, "user": s.UserHitSerializer}


def _page(request: Request) -> int:
    raw = request.query_params.get("page") or "1"
    try:
        page = int(raw)
        if not 1 <= page <= 10_000:
            raise ValueError
    except ValueError:
        raise ValidationFailed("page must be a whole number from 1 to 10000.", details={"page": ["Invalid page."]})
    return page


class SearchView(FilteredView, ConcurrencyLimitMixin, SparseFieldsetMixin, APIView):
    permission_classes = [AllowAny]
    filterset_class = SearchFilter
    pagination_class = PagePagination  # documents the ranked-list envelope; paging happens in SQL
    concurrency_scope = "search"

    def sparse_allowed(self, request) -> list[str]:
        """The fields of the hit type asked for (every type's, for the schema)."""
        kind = request.query_params.get("type") if request is not None else None
        if kind in HIT_SERIALIZERS:
            return serializer_fields(HIT_SERIALIZERS[kind])
        if request is not None:
            return serializer_fields(HIT_SERIALIZERS["post"])
        return list(dict.fromkeys(f for ser in HIT_SERIALIZERS.values() for f in serializer_fields(ser)))

    @extend_schema(
        summary="Full-text search",
        description=(
            'Web-search syntax: words (all must match), `"quoted phrases"`, `OR`, `-exclude`; `$TICKER` '
            "symbols and base58 addresses match exactly. Results only include what the caller may read. "
            "`meta.pagination.total` is capped at the candidate limit (`meta.total_capped`)."
        ),
        parameters=[
            OpenApiParameter("q", {"type": "string", "pattern": r"\S"}, required=True, description="Not blank."),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses=s.PostHitSerializer(many=True),
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        data = self.filter_values()
        since, until = data.get("from"), data.get("to")
        if data.get("period") and s.PERIODS[data["period"]] is not None:
            period_since = timezone.now() - s.PERIODS[data["period"]]
            since = max(since, period_since) if since else period_since
        if since and until and since >= until:
            raise ValidationFailed("to must be later than from.", details={"to": ["Must be later than `from`."]})
        parsed = parse(request.query_params.get("q"))
        page, limit = _page(request), parse_limit(request)
        filters = selectors.SearchFilters(
            type=data.get("type", "post"),
            sort=data.get("sort", "relevance"),
            category=data.get("category"),
            tag=data.get("tag"),
            author=data.get("author"),
            since=since,
            until=until,
        )
        with selectors.bounded():  # one transaction for the whole request (reads + log row)
            result = selectors.search(viewer=request.user, parsed=parsed, filters=filters, page=page, limit=limit)
            did_you_mean = None
            if (result.total < 3 or result.relaxed) and filters.type != "user":
                did_you_mean = selectors.did_you_mean(parsed.text)
            items = self._items(result)
            if page == 1:
                services.search_log_record(
                    query=parsed.normalized,
                    searcher=services.searcher_key(
                        user_id=request.user.pk if request.user.is_authenticated else None,
                        address=client_address(request),
                    ),
                    result_count=selectors.trending_count(viewer=request.user, result=result),
                )
        return Response(
            {
                "data": items,
                "meta": {
                    "pagination": {"page": page, "limit": limit, "total": result.total},
                    "total_capped": result.capped,
                    "relaxed": result.relaxed,
                    "query": parsed.text,
                    "did_you_mean": did_you_mean,
                },
            }
        )

    @staticmethod
    def _items(result: selectors.SearchResult) -> list[dict]:
        """Rendered hits. A rendered page is cached next to its ranking (same versioned key); on a
        hit only the visibility of its rows is re-checked, so a row hidden since is dropped."""
        serializer = HIT_SERIALIZERS[result.type]
        if result.items is not None:
            return serializer(result.items, many=True).data
        if not result.ids:
            return []
        cached = search_cache.get(result.page_key) if result.page_key else None
        if cached is not None:
            visible = selectors.visible_ids(result)
            return [item for item in cached if item["id"] in visible]
        items = serializer(selectors.hydrate(result), many=True).data
        if result.page_key:
            search_cache.put(result.page_key, items, settings.SEARCH_CACHE_SECONDS)
        return items


class SuggestView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Suggestions as the user types",
        description="Titles, tags and usernames by prefix and trigram similarity, plus `did_you_mean`.",
        parameters=[OpenApiParameter("q", str, description="The prefix typed so far; empty answers empty lists.")],
        responses=s.SuggestSerializer,
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.suggest(viewer=request.user, raw=request.query_params.get("q")))


class RelatedPostsView(APIView):
    permission_classes = [AllowAny]
    pagination_class = PagePagination  # schema only: one short page

    @extend_schema(
        summary="Posts related to a post",
        description="By shared tags and text similarity. 404 for a post the caller may not read.",
        parameters=[OpenApiParameter("limit", int)],
        responses=s.RelatedPostSerializer(many=True),
        tags=["search"],
    )
    def get(self, request: Request, post_id: int) -> Response:
        limit = parse_limit(request, default=settings.SEARCH_RELATED_LIMIT, maximum=20)
        posts = selectors.related_posts(viewer=request.user, post_id=post_id, limit=limit)
        return Response(
            {
                "data": s.RelatedPostSerializer(posts, many=True).data,
                "meta": {"pagination": {"page": 1, "limit": limit, "total": len(posts)}},
            }
        )


class TrendingView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Trending topics and searches", responses=s.TrendingSerializer, tags=["search"])
    def get(self, request: Request) -> Response:
        return Response(selectors.trending(viewer=request.user))
