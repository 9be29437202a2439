"""Reference data is idempotent, the demo makes a believable forum, and every endpoint is documented."""

import io

import pytest
from django.core.management import call_command

from apps.forum.models import Category, Comment, Post, Tag, Vote

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_demo_is_consistent():
    call_command("seed", stdout=io.StringIO())
    first = list(Category.objects.values_list("slug", "parent__slug", "read_min_tier").order_by("slug"))
    call_command("seed", stdout=io.StringIO())
    assert list(Category.objects.values_list("slug", "parent__slug", "read_min_tier").order_by("slug")) == first
    assert ("whale-room", "holders-lounge", "whale") in first and Tag.objects.filter(slug="gm").exists()
    out = io.StringIO()
    call_command("seed", "--demo", "--size", "8", "--no-progress", stdout=out, stderr=io.StringIO())
    assert "demo forum:" in out.getvalue()
    assert Post.objects.count() >= 10 and Comment.objects.exists() and Vote.objects.exists()
    for post in Post.objects.all():
        assert post.comment_count == post.comments.filter(status="published").count()
        assert (
            post.score
            == post.votes.filter(comment__isnull=True, value=1).count()
            - post.votes.filter(comment__isnull=True, value=-1).count()
        )
        assert not post.votes.filter(user_id=post.author_id, comment__isnull=True).exists()
    for c in Comment.objects.exclude(parent=None).select_related("parent")[:50]:
        assert c.path.startswith(c.parent.path) and c.depth == c.parent.depth + 1


def test_every_forum_endpoint_is_in_the_schema(api_client):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path, methods in {
        "/api/categories": ["get"],
        "/api/tags": ["get"],
        "/api/posts": ["get", "post"],
        "/api/posts/{post_id}": ["get", "put", "delete"],
        "/api/posts/{post_id}/revisions": ["get"],
        "/api/posts/{post_id}/comments": ["get", "post"],
        "/api/posts/{post_id}/vote": ["post"],
        "/api/comments/{comment_id}": ["put", "delete"],
        "/api/comments/{comment_id}/vote": ["post"],
        "/api/drafts": ["get", "post"],
        "/api/drafts/{draft_id}/publish": ["post"],
    }.items():
        assert path in paths, path
        for method in methods:
            assert method in paths[path], (path, method)
    ref = paths["/api/posts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    feed = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(feed["properties"]) == {"data", "meta"}
    detail = paths["/api/posts/{post_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "data" in detail["properties"]


def test_a_top_level_category_lists_with_a_null_parent_as_the_schema_says(api_client, category):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["schemas"]["Category"]["properties"]["parent"]["nullable"] is True
    listed = {c["slug"]: c for c in api_client.get("/api/categories").json()["data"]}
    assert listed[category.slug]["parent"] is None
