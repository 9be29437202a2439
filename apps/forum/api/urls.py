from django.urls import path

from apps.forum.api import views as v

urlpatterns = [
    path("categories", v.CategoryListView.as_view(), name="forum-categories"),
    path("categories/<slug:slug>", v.CategoryDetailView.as_view(), name="forum-category"),
    path("tags", v.TagListView.as_view(), name="forum-tags"),
    path("posts", v.PostListView.as_view(), name="forum-posts"),
    path("posts/<int:post_id>", v.PostDetailView.as_view(), name="forum-post"),
    path("posts/<int:post_id>/revisions", v.PostRevisionsView.as_view(), name="forum-post-revisions"),
    path("posts/<int:post_id>/comments", v.PostCommentsView.as_view(), name="forum-post-comments"),
    path("posts/<int:post_id>/vote", v.PostVoteView.as_view(), name="forum-post-vote"),
    path("posts/<int:post_id>/pin", v.PostPinView.as_view(), name="forum-post-pin"),
    path("posts/<int:post_id>/lock", v.PostLockView.as_view(), name="forum-post-lock"),
    path("comments/<int:comment_id>", v.CommentDetailView.as_view(), name="forum-comment"),
    path("comments/<int:comment_id>/vote", v.CommentVoteView.as_view(), name="forum-comment-vote"),
    path("votes", v.VoteHistoryView.as_view(), name="forum-votes"),
    path("drafts", v.DraftListView.as_view(), name="forum-drafts"),
    path("drafts/<int:draft_id>", v.DraftDetailView.as_view(), name="forum-draft"),
    path("drafts/<int:draft_id>/publish", v.DraftPublishView.as_view(), name="forum-draft-publish"),
]
