"""Popular queries are cached under versioned keys; forum events move the version."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import events
from apps.forum import events as forum_events
from apps.forum.models import Category
from tests.search.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def ranking_queries(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/search", params)
    assert response.status_code == 200
    ranked = [q for q in ctx.captured_queries if "WITH candidates" in q["sql"]]
    return len(ranked), [row["id"] for row in response.json()["data"]]


def test_repeat_query_is_served_from_cache(api_client):
    post = PostFactory(title="Hodl strategy")
    assert ranking_queries(api_client, q="hodl") == (1, [post.id])
    assert ranking_queries(api_client, q="hodl") == (0, [post.id])
    assert ranking_queries(api_client, q="hodl", page=2) == (1, [])  # another key


@pytest.mark.parametrize(
    "make_event",
    [
        lambda p: forum_events.PostCreated(post_id=p.id, author_id=p.author_id, category_id=p.category_id),
        lambda p: forum_events.PostEdited(post_id=p.id, editor_id=p.author_id),
        lambda p: forum_events.PostDeleted(post_id=p.id, author_id=p.author_id),
        lambda p: forum_events.CommentCreated(comment_id=1, post_id=p.id, author_id=p.author_id, category_id=1),
        lambda p: forum_events.CommentDeleted(comment_id=1, post_id=p.id, author_id=p.author_id),
    ],
)
def test_content_events_invalidate(api_client, django_capture_on_commit_callbacks, make_event):
    first = PostFactory(title="Hodl strategy")
    assert ranking_queries(api_client, q="hodl") == (1, [first.id])
    second = PostFactory(title="Hodl forever", category=first.category)  # a new category is a new key
    assert ranking_queries(api_client, q="hodl") == (0, [first.id])  # stale until the event
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(make_event(second))
    count, found = ranking_queries(api_client, q="hodl")
    assert count == 1 and set(found) == {first.id, second.id}


def test_suggest_is_cached_and_invalidated(api_client, django_capture_on_commit_callbacks):
    PostFactory(title="Validator setup")
    assert len(api_client.get("/api/search/suggest", {"q": "valid"}).json()["data"]["titles"]) == 1
    post = PostFactory(title="Validator rewards", category=Category.objects.get())
    assert len(api_client.get("/api/search/suggest", {"q": "valid"}).json()["data"]["titles"]) == 1
    comment = CommentFactory(post=post)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(
            forum_events.CommentCreated(
                comment_id=comment.id, post_id=post.id, author_id=comment.author_id, category_id=post.category_id
            )
        )
    assert len(api_client.get("/api/search/suggest", {"q": "valid"}).json()["data"]["titles"]) == 2
