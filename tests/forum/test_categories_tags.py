"""Categories with counts and trending tags; tag autocomplete."""

import pytest

from apps.forum.jobs import refresh_trending
from apps.forum.models import PostTag
from apps.forum.services import comment_create, post_create
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_categories_with_counts_and_permissions(api_client, make_client, django_assert_max_num_queries):
    general = CategoryFactory(slug="general", position=1)
    sub = CategoryFactory(slug="sub", parent=general, position=5)
    CategoryFactory(slug="holders", read_min_tier="holder", position=2)
    tag = TagFactory(slug="gm")
    alice, bob = UserFactory(), UserFactory()
    post = post_create(author=alice, category=general, title="Hello there", body="gm", tags=["gm"])
    comment_create(author=bob, post_id=post.id, body="gm back")
    comment_create(author=alice, post_id=post.id, body="again")
    refresh_trending()
    with django_assert_max_num_queries(1):
        r = api_client.get("/api/categories")
    data = r.json()["data"]
    assert [c["slug"] for c in data] == ["general", "sub"]  # holders hidden from anonymous
    g = data[0]
    assert (g["post_count"], g["comment_count"], g["active_users_24h"], g["trending_tags"]) == (1, 2, 2, ["gm"])
    assert data[1]["parent"] == "general" and sub.id == data[1]["id"]
    assert "pagination" in r.json()["meta"]
    holder = UserFactory()
    holder.profile.holder_tier = "holder"
    holder.profile.save()
    assert "holders" in [c["slug"] for c in make_client(holder).get("/api/categories").json()["data"]]
    assert api_client.get("/api/categories/general").json()["data"]["post_count"] == 1
    assert api_client.get("/api/categories/holders").status_code == 404
    assert tag.slug == "gm"


def test_tag_autocomplete(api_client, category):
    for slug, n in [("gm", 5), ("gmi", 9), ("game", 1), ("meme", 3)]:
        t = TagFactory(slug=slug)
        t.post_count = n
        t.save()
    r = api_client.get("/api/tags?q=G")
    assert [t["slug"] for t in r.json()["data"]] == ["gmi", "gm", "game"]
    assert [t["slug"] for t in api_client.get("/api/tags?q=gm").json()["data"]] == ["gmi", "gm"]
    assert api_client.get("/api/tags?q=%25").json()["data"] == []
    page = api_client.get("/api/tags?limit=2").json()
    assert len(page["data"]) == 2 and page["meta"]["pagination"]["next_cursor"]


def test_tag_page_through_posts(api_client, category):
    tag = TagFactory(slug="chart")
    tagged = PostFactory(category=category, tag_slugs=["chart"])
    PostTag.objects.create(post=tagged, tag=tag)
    PostFactory(category=category)
    data = api_client.get("/api/posts?tag=chart").json()["data"]
    assert [p["id"] for p in data] == [tagged.id] and data[0]["tags"] == ["chart"]
