from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.concurrency import ConcurrencyLimitMixin
from apps.core.exceptions import NotAuthenticated
from apps.core.filters import FilteredView
from apps.core.pagination import KeysetPagination, PagePagination, parse_limit
from apps.core.sparse import SparseFieldsetMixin
from apps.gamification import page_cache, selectors
from apps.gamification.api.filters import LeaderboardFilter
from apps.gamification.api.serializers import (
    AchievementSerializer,
    ActivitySerializer,
    LeaderboardRowSerializer,
    LevelSerializer,
    PointTransactionSerializer,
    UserAchievementSerializer,
)
from apps.gamification.models import LeaderboardEntry, PointTransaction, UserAchievement


class ListPagePagination(PagePagination):
    """PagePagination that also pages plain lists (and can check ?page= without data)."""

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(queryset, list):
            super().paginate_queryset(Counted(queryset), request, view)
            start = (self.page - 1) * self.limit
            return queryset[start : start + self.limit]
        return super().paginate_queryset(queryset, request, view)


class Counted(list):
    def count(self, *args):
        return len(self) if not args else super().count(*args)

    def __getitem__(self, item):
        return []  # only the count is asked for; the caller slices the real list


class CataloguePagination(ListPagePagination):
    default_limit = 100


class ActivityListView(ListAPIView):
    """The points catalogue: what earns points, how many, and the daily caps."""

    permission_classes = [AllowAny]
    serializer_class = ActivitySerializer
    pagination_class = CataloguePagination

    def get_queryset(self):
        return selectors.activity_catalogue()

    @extend_schema(operation_id="points_activities_list", tags=["gamification"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LevelListView(ListAPIView):
    """Level thresholds: level n starts at 50·(n−1)² points."""

    permission_classes = [AllowAny]
    serializer_class = LevelSerializer
    pagination_class = CataloguePagination

    def get_queryset(self):
        return selectors.level_catalogue()

    @extend_schema(operation_id="levels_list", tags=["gamification"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AchievementListView(ListAPIView):
    """Every achievement; secret ones are masked until the caller unlocks them."""

    permission_classes = [AllowAny]
    serializer_class = AchievementSerializer
    pagination_class = CataloguePagination

    def get_queryset(self):
        return selectors.achievement_catalogue()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "revealed": selectors.unlocked_achievement_ids(self.request.user)}

    @extend_schema(operation_id="achievements_list", tags=["gamification"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class UserAchievementListView(ListAPIView):
    """A user's unlocked achievements; to the owner, every achievement with progress."""

    permission_classes = [AllowAny]
    serializer_class = UserAchievementSerializer
    pagination_class = CataloguePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return UserAchievement.objects.none()
        user = selectors.user_for_view(user_id=self.kwargs["user_id"], viewer=self.request.user)
        self.with_progress = self.request.user.is_authenticated and self.request.user.pk == user.pk
        return selectors.user_achievements(user=user, with_progress=self.with_progress, viewer=self.request.user)

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx["with_progress"] = getattr(self, "with_progress", False)
        # The owner sees what they unlocked; others only ever see unlocked rows, so reveal those.
        ctx["revealed"] = selectors.unlocked_achievement_ids(self.request.user) if ctx["with_progress"] else {"__all__"}
        return ctx

    def list(self, request, *args, **kwargs):
        views = self.get_queryset()
        context = self.get_serializer_context()
        if not context["with_progress"]:
            context["revealed"] = {v.achievement.pk for v in views}
        page = self.paginate_queryset(views)
        data = UserAchievementSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(operation_id="user_achievements_list", tags=["gamification"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class UserPointsView(ListAPIView):
    """A user's points history (the ledger, newest first), cursor-paginated."""

    permission_classes = [AllowAny]
    serializer_class = PointTransactionSerializer
    pagination_class = KeysetPagination
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PointTransaction.objects.none()
        user = selectors.user_for_view(user_id=self.kwargs["user_id"], viewer=self.request.user)
        self.subject = user
        return selectors.points_history(user_id=user.pk, viewer=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        profile = self.subject.profile
        if selectors.sees_full_standing(viewer=request.user, user=self.subject):
            balance = {"points": profile.points, "level": profile.level}
        else:  # the public standing: what the global board and the public user shape show
            balance = {"points": profile.public_points, "level": profile.public_level}
        response.data["meta"]["balance"] = balance
        return response

    @extend_schema(operation_id="user_points_list", tags=["gamification"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LeaderboardView(FilteredView, ConcurrencyLimitMixin, SparseFieldsetMixin, ListAPIView):
    """Standings for a UTC period, global or per category (points earned in that category).
    `?around=me` centres the page on the caller (meta.me holds their rank)."""

    permission_classes = [AllowAny]
    serializer_class = LeaderboardRowSerializer
    pagination_class = ListPagePagination
    queryset = LeaderboardEntry.objects.none()  # rows come from selectors (Redis or SQL)
    filterset_class = LeaderboardFilter
    concurrency_scope = "leaderboard"  # a cold page may rebuild a period from the ledger
    sparse_serializer = LeaderboardRowSerializer
    sparse_always = ("rank",)

    @extend_schema(
        operation_id="leaderboard",
        tags=["gamification"],
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
    )
    def get(self, request, *args, **kwargs):
        params = request.query_params
        given = self.filter_values()
        period, start = selectors.resolve_period(given.get("period"), params.get("date"))
        category_id = selectors.resolve_category(given.get("category"), viewer=request.user)
        paginator = self.paginator
        paginator.limit = parse_limit(request)
        paginator.paginate_queryset([], request)  # validates ?page= (ignored next to around=me)
        around = given.get("around") == "me"
        if around:
            if not request.user.is_authenticated:
                raise NotAuthenticated("Sign in to see your own rank.")
            board = selectors.leaderboard_around(
                period=period, start=start, category_id=category_id, user_id=request.user.pk, limit=paginator.limit
            )
            first_rank = board.rows[0][0] if board.rows else 1
            paginator.page = (first_rank - 1) // paginator.limit + 1
        else:
            cache_key, version = None, 0
            if page_cache.enabled():
                cache_key = page_cache.page_key(
                    period=period, start=start, category_id=category_id, page=paginator.page, limit=paginator.limit
                )
                version, hit = page_cache.get(cache_key)
                if hit is not None:
                    return Response(hit)
            board = selectors.leaderboard(
                period=period,
                start=start,
                category_id=category_id,
                offset=(paginator.page - 1) * paginator.limit,
                limit=paginator.limit,
            )
        paginator.total = board.total
        # LeaderboardRowSerializer's shape, built directly: the users come rendered from their
        # selector, and DRF's per-request field setup for 100 rows was measurable (py-spy).
        data = [{"rank": r, "user": u, "points": p} for r, u, p in board.rows]
        meta = paginator.get_meta()
        meta["leaderboard"] = {
            "period": period,
            "period_start": start.isoformat(),
            "category_id": category_id or None,
            "source": board.source,
        }
        if around:
            meta["me"] = board.me
        body = {"data": data, "meta": meta}
        if not around and cache_key and version:
            page_cache.put(cache_key, version, body)
        return Response(body)
