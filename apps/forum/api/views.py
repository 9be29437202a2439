"""Thin views: validate shape, call one service or selector, shape the answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from apps.core.exceptions import NotFound
from apps.core.filters import FilteredView
from apps.core.idempotency import IdempotentPostMixin
from apps.core.pagination import parse_limit
from apps.core.renderers import dumps
from apps.core.sparse import SparseFieldsetMixin
from apps.forum import feed_cache, selectors, services
from apps.forum.api import serializers as s
from apps.forum.api.filters import PostFeedFilter
from apps.forum.models import Category, Comment, Draft, Post, PostRevision, Tag, Vote
from apps.forum.pagination import SeekKeysetPagination

TAG = ["forum"]
_POST_LIST_PARAMS = [
    OpenApiParameter("sort", str, enum=list(selectors.POST_SORTS), description="Default hot."),
]


class ForumView(GenericAPIView):
    pagination_class = SeekKeysetPagination
    permission_classes = [IsAuthenticatedOrReadOnly]

    def page(self, queryset, serializer_class, ordering, context=None):
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self, ordering=ordering)
        data = serializer_class(rows, many=True, context=context or {}).data
        return paginator.get_paginated_response(data)


def _post_answer(request, post_id: int, code: int = 200) -> Response:
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    return Response(s.PostSerializer(post).data, status=code)


# --- categories and tags ---------------------------------------------------------------------------


class CategoryListView(ForumView):
    queryset = Category.objects.none()  # for the schema generator only
    serializer_class = s.CategorySerializer
    pagination_class = None

    @extend_schema(
        tags=TAG,
        summary="Categories with counts",
        description="Readable categories, parents each followed by their subcategories, with post and comment "
        "counts, distinct active users in the last 24 h and trending tags. Small and complete: one page.",
        responses=s.CategorySerializer(many=True),
    )
    def get(self, request):
        data = selectors.category_list(viewer=request.user)
        return Response(
            {"data": data, "meta": {"pagination": {"limit": len(data), "next_cursor": None, "prev_cursor": None}}}
        )


class CategoryDetailView(ForumView):
    queryset = Category.objects.none()  # for the schema generator only
    serializer_class = s.CategorySerializer

    @extend_schema(tags=TAG, summary="One category", responses=s.CategorySerializer)
    def get(self, request, slug: str):
        rows = [c for c in selectors.category_list(viewer=request.user) if c["slug"] == slug]
        if not rows:
            raise NotFound("Category not found.")
        return Response(rows[0])


class TagListView(ForumView):
    queryset = Tag.objects.none()  # for the schema generator only
    serializer_class = s.TagListSerializer

    @extend_schema(
        tags=TAG,
        summary="Tags (prefix autocomplete)",
        parameters=[OpenApiParameter("q", str, description="Prefix, normalised like tags are.")],
        responses=s.TagListSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.tag_list(viewer=request.user, q=request.query_params.get("q"))
        return self.page(qs, s.TagListSerializer, ["-visible_post_count", "slug"])


# --- posts -----------------------------------------------------------------------------------------


class PostListView(FilteredView, IdempotentPostMixin, SparseFieldsetMixin, ForumView):
    queryset = Post.objects.none()  # for the schema generator only
    serializer_class = s.PostSerializer
    filterset_class = PostFeedFilter
    sparse_serializer = s.PostSerializer

    @extend_schema(tags=TAG, summary="Post feed", parameters=_POST_LIST_PARAMS, responses=s.PostSerializer(many=True))
    def get(self, request):
        fields = self.requested_fields
        # Anonymous pages come from the shared feed cache (apps.forum.feed_cache): never a signed-in one.
        # A page is stored only after its parameters passed, so a hit skips validating them again.
        key = version = None
        if feed_cache.applies_to(request):
            key = feed_cache.page_key(request.query_params, fields)
            cached, version = feed_cache.get(key, request)
            if cached is not None:
                return cached
        filters = self.filter_values()
        page = selectors.post_feed_page(
            viewer=request.user,
            sort=request.query_params.get("sort"),
            period=filters.get("period"),
            category=filters.get("category"),
            tag=filters.get("tag"),
            author_id=filters.get("author"),
            limit=parse_limit(request),
            cursor=request.query_params.get("cursor"),
            fields=fields,
        )
        meta = {"pagination": {"limit": page.limit, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}}
        body = {"data": page.rows, "meta": meta}
        if key is not None:
            return feed_cache.put(key, version, dumps(body), request)
        return Response(body)

    @extend_schema(tags=TAG, summary="Create a post", request=s.PostCreateInput, responses={201: s.PostSerializer})
    def post(self, request):
        data = _valid(s.PostCreateInput, request)
        category = services.category_for_posting(user=request.user, slug=data["category"])
        post = services.post_create(
            author=request.user,
            category=category,
            title=data["title"],
            body=data["body"],
            tags=data["tags"],
            is_nsfw=data["is_nsfw"],
        )
        return _post_answer(request, post.pk, status.HTTP_201_CREATED)


def _valid(serializer_class, request, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PostDetailView(ForumView):
    queryset = Post.objects.none()  # for the schema generator only
    serializer_class = s.PostSerializer

    @extend_schema(tags=TAG, summary="One post", responses=s.PostSerializer)
    def get(self, request, post_id: int):
        return _post_answer(request, post_id)

    @extend_schema(
        tags=TAG,
        summary="Edit a post (author or moderator)",
        description="Every edit keeps a revision. Send `revision` (the one you loaded) to get a 409 instead of "
        "overwriting someone else's newer edit.",
        request=s.PostUpdateInput,
        responses=s.PostSerializer,
    )
    def put(self, request, post_id: int):
        data = _valid(s.PostUpdateInput, request, partial=True)
        category = None
        if "category" in data:
            category = services.category_for_posting(user=request.user, slug=data["category"])
        services.post_update(
            post_id=post_id,
            editor=request.user,
            title=data.get("title"),
            body=data.get("body"),
            tags=data.get("tags"),
            category=category,
            is_nsfw=data.get("is_nsfw"),
            expected_revision=data.get("revision"),
            reason=data.get("reason", ""),
        )
        return _post_answer(request, post_id)

    patch = put

    @extend_schema(
        tags=TAG,
        summary="Delete a post",
        description="The author's delete, or a moderator's removal; the thread keeps a placeholder.",
        responses={204: None},
    )
    def delete(self, request, post_id: int):
        services.post_delete(post_id=post_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostFlagView(ForumView):
    serializer_class = s.PostSerializer
    permission_classes = [IsAuthenticated]
    flag = "is_pinned"

    @extend_schema(tags=TAG, request=s.FlagInput, responses=s.PostSerializer)
    def post(self, request, post_id: int):
        data = _valid(s.FlagInput, request)
        services.post_set_flags(post_id=post_id, actor=request.user, **{self.flag: data["value"]})
        return _post_answer(request, post_id)


class PostPinView(PostFlagView):
    flag = "is_pinned"

    @extend_schema(tags=TAG, summary="Pin or unpin (moderators)", request=s.FlagInput, responses=s.PostSerializer)
    def post(self, request, post_id: int):
        return super().post(request, post_id)


class PostLockView(PostFlagView):
    flag = "is_locked"

    @extend_schema(tags=TAG, summary="Lock or unlock (moderators)", request=s.FlagInput, responses=s.PostSerializer)
    def post(self, request, post_id: int):
        return super().post(request, post_id)


class PostRevisionsView(ForumView):
    queryset = PostRevision.objects.none()  # for the schema generator only
    serializer_class = s.RevisionSerializer

    @extend_schema(tags=TAG, summary="Edit history", responses=s.RevisionSerializer(many=True))
    def get(self, request, post_id: int):
        qs = selectors.post_revisions(viewer=request.user, post_id=post_id)
        return self.page(qs, s.RevisionSerializer, ["-number"])


class VoteView(ForumView):
    serializer_class = s.VoteAnswerSerializer
    permission_classes = [IsAuthenticated]

    def answer(self, result) -> Response:
        return Response(s.VoteAnswerSerializer(result).data)


class PostVoteView(VoteView):
    @extend_schema(tags=TAG, summary="Vote on a post", request=s.VoteInput, responses=s.VoteAnswerSerializer)
    def post(self, request, post_id: int):
        data = _valid(s.VoteInput, request)
        return self.answer(services.vote_post(user=request.user, post_id=post_id, value=data["value"]))


class CommentVoteView(VoteView):
    @extend_schema(tags=TAG, summary="Vote on a comment", request=s.VoteInput, responses=s.VoteAnswerSerializer)
    def post(self, request, comment_id: int):
        data = _valid(s.VoteInput, request)
        return self.answer(services.vote_comment(user=request.user, comment_id=comment_id, value=data["value"]))


class VoteHistoryView(ForumView):
    queryset = Vote.objects.none()  # for the schema generator only
    serializer_class = s.VoteHistorySerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="My votes, newest first", responses=s.VoteHistorySerializer(many=True))
    def get(self, request):
        return self.page(selectors.vote_history(user=request.user), s.VoteHistorySerializer, ["-updated_at", "-id"])


# --- comments --------------------------------------------------------------------------------------


class PostCommentsView(IdempotentPostMixin, SparseFieldsetMixin, ForumView):
    queryset = Comment.objects.none()  # for the schema generator only
    serializer_class = s.CommentSerializer
    sparse_serializer = s.CommentSerializer

    @extend_schema(
        tags=TAG,
        summary="A post's comments, flat in depth-first order",
        description="Nest by `parent_id`. Siblings are ordered by `sort` (best = Wilson lower bound). Deleted "
        "comments that still have replies come back as placeholders (`is_deleted`).",
        parameters=[OpenApiParameter("sort", str, enum=list(selectors.COMMENT_SORTS), description="Default best.")],
        responses=s.CommentSerializer(many=True),
    )
    def get(self, request, post_id: int):
        limit = parse_limit(request)
        page = selectors.comment_thread(
            viewer=request.user,
            post_id=post_id,
            sort=request.query_params.get("sort"),
            limit=limit,
            cursor=request.query_params.get("cursor"),
        )
        meta = {"pagination": {"limit": limit, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}}
        return Response({"data": page.rows, "meta": meta})  # rendered by the selector, in CommentSerializer's shape

    @extend_schema(
        tags=TAG, summary="Comment or reply", request=s.CommentCreateInput, responses={201: s.CommentSerializer}
    )
    def post(self, request, post_id: int):
        data = _valid(s.CommentCreateInput, request)
        comment = services.comment_create(
            author=request.user, post_id=post_id, body=data["body"], parent_id=data.get("parent_id")
        )
        return Response(s.CommentSerializer(selectors.new_comment(comment)).data, status=status.HTTP_201_CREATED)


class CommentDetailView(ForumView):
    partial_patch = False  # PATCH validates the whole body, like PUT (apps.core.schema)
    queryset = Comment.objects.none()  # for the schema generator only
    serializer_class = s.CommentSerializer

    @extend_schema(tags=TAG, summary="One comment", responses=s.CommentSerializer)
    def get(self, request, comment_id: int):
        return Response(s.CommentSerializer(selectors.comment_get(viewer=request.user, comment_id=comment_id)).data)

    @extend_schema(tags=TAG, summary="Edit a comment", request=s.CommentUpdateInput, responses=s.CommentSerializer)
    def put(self, request, comment_id: int):
        data = _valid(s.CommentUpdateInput, request)
        services.comment_update(comment_id=comment_id, editor=request.user, body=data["body"])
        return Response(s.CommentSerializer(selectors.comment_get(viewer=request.user, comment_id=comment_id)).data)

    patch = put

    @extend_schema(tags=TAG, summary="Delete a comment (replies stay)", responses={204: None})
    def delete(self, request, comment_id: int):
        services.comment_delete(comment_id=comment_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- drafts ----------------------------------------------------------------------------------------


class DraftListView(IdempotentPostMixin, ForumView):
    queryset = Draft.objects.none()  # for the schema generator only
    serializer_class = s.DraftSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="My drafts, last saved first", responses=s.DraftSerializer(many=True))
    def get(self, request):
        return self.page(selectors.draft_list(user=request.user), s.DraftSerializer, ["-updated_at", "-id"])

    @extend_schema(tags=TAG, summary="Start a draft", request=s.DraftInput, responses={201: s.DraftSerializer})
    def post(self, request):
        data = _valid(s.DraftInput, request)
        draft = services.draft_create(
            author=request.user,
            title=data.get("title", ""),
            body=data.get("body", ""),
            category_slug=data.get("category"),
            tags=data.get("tags"),
            post_id=data.get("post_id"),
        )
        return Response(s.DraftSerializer(selectors.draft_get(user=request.user, draft_id=draft.pk)).data, status=201)


class DraftDetailView(ForumView):
    queryset = Draft.objects.none()  # for the schema generator only
    serializer_class = s.DraftSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="Resume a draft", responses=s.DraftSerializer)
    def get(self, request, draft_id: int):
        return Response(s.DraftSerializer(selectors.draft_get(user=request.user, draft_id=draft_id)).data)

    @extend_schema(
        tags=TAG,
        summary="Autosave a draft",
        description="Send `version` (the one you loaded) to get a 409 when another tab saved in between.",
        request=s.DraftInput,
        responses=s.DraftSerializer,
    )
    def put(self, request, draft_id: int):
        data = _valid(s.DraftInput, request, partial=True)
        services.draft_update(
            draft_id=draft_id,
            author=request.user,
            title=data.get("title"),
            body=data.get("body"),
            category_slug=data.get("category"),
            tags=data.get("tags"),
            expected_version=data.get("version"),
        )
        return Response(s.DraftSerializer(selectors.draft_get(user=request.user, draft_id=draft_id)).data)

    patch = put

    @extend_schema(tags=TAG, summary="Discard a draft", responses={204: None})
    def delete(self, request, draft_id: int):
        services.draft_discard(draft_id=draft_id, author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DraftPublishView(IdempotentPostMixin, ForumView):
    serializer_class = s.PostSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, summary="Publish a draft", request=None, responses={201: s.PostSerializer})
    def post(self, request, draft_id: int):
        post = services.draft_publish(draft_id=draft_id, author=request.user)
        return _post_answer(request, post.pk, status.HTTP_201_CREATED)
