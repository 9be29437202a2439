"""Services other areas call: status changes keep counters exact; mentions on edits are new ones only."""

import pytest

from apps.core.exceptions import PermissionDeniedError
from apps.forum import events as ev
from apps.forum.models import Category, Post, Tag
from apps.forum.services import (
    comment_create,
    comment_set_status,
    post_create,
    post_set_status,
    post_update,
)
from tests.factories import UserFactory
from tests.forum.factories import TagFactory

pytestmark = pytest.mark.django_db


def test_hide_and_restore_keep_counters_exact(category, moderator, user):
    TagFactory(slug="gm")
    post = post_create(author=user, category=category, title="Counted post", body="x", tags=["gm"])
    comment = comment_create(author=UserFactory(), post_id=post.id, body="c")
    with pytest.raises(PermissionDeniedError):
        post_set_status(post_id=post.id, actor=user, status="hidden")
    post_set_status(post_id=post.id, actor=moderator, status="hidden", reason="reports")
    category.refresh_from_db()
    assert (category.post_count, category.comment_count) == (0, 0)
    assert Tag.objects.get(slug="gm").post_count == 0
    post_set_status(post_id=post.id, actor=moderator, status="published")
    category.refresh_from_db()
    assert (category.post_count, category.comment_count) == (1, 1)
    comment_set_status(comment_id=comment.id, actor=moderator, status="removed")
    assert Post.objects.get(pk=post.id).comment_count == 0
    assert Category.objects.get(pk=category.pk).comment_count == 0
    p = Post.objects.get(pk=post.id)
    assert p.status_changed_by_id == moderator.id and p.status == "published"


def test_edit_mentions_only_new_names(category, user, emitted, django_capture_on_commit_callbacks):
    UserFactory(username="alice_kid")
    bob = UserFactory(username="bob_kid")
    post = post_create(author=user, category=category, title="Mentions", body="hi @alice_kid")
    with django_capture_on_commit_callbacks(execute=True):
        post_update(post_id=post.id, editor=user, body="hi @alice_kid and @bob_kid")
    mentions = [e.mentioned_user_id for e in emitted if isinstance(e, ev.UserMentioned)]
    assert mentions == [bob.id]


def test_comment_mentions(category, user, emitted, django_capture_on_commit_callbacks):
    carol = UserFactory(username="carol_kid")
    post = post_create(author=user, category=category, title="Thread", body="x")
    with django_capture_on_commit_callbacks(execute=True):
        c = comment_create(author=user, post_id=post.id, body="@carol_kid look")
    m = [e for e in emitted if isinstance(e, ev.UserMentioned)]
    assert [(e.mentioned_user_id, e.comment_id, e.post_id) for e in m] == [(carol.id, c.id, post.id)]
