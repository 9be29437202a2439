"""The post feed: sorts, periods, filters, cursors, and a constant number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum import ranking
from apps.forum.models import PostTag
from apps.forum.services import vote_post
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.json()
    return [p["id"] for p in response.json()["data"]]


def test_sorts(api_client, category):
    now = timezone.now()
    old_popular = PostFactory(category=category, created_at=now - timedelta(days=3), score=50, upvotes=50)
    fresh = PostFactory(category=category, created_at=now - timedelta(minutes=5))
    split = PostFactory(category=category, created_at=now - timedelta(hours=5), score=0, upvotes=20, downvotes=20)
    for p in (old_popular, fresh, split):
        p.hot_rank = ranking.hot(p.score, p.created_at, now)
        p.controversy = ranking.controversy(p.upvotes, p.downvotes)
        p.last_activity_at = p.created_at
        p.save()
    old_popular.last_activity_at = now
    old_popular.save()
    assert ids(api_client.get("/api/posts?sort=new")) == sorted([old_popular.id, fresh.id, split.id], reverse=True)
    assert ids(api_client.get("/api/posts?sort=top"))[0] == old_popular.id
    assert ids(api_client.get("/api/posts?sort=controversial"))[0] == split.id
    assert ids(api_client.get("/api/posts?sort=active"))[0] == old_popular.id
    assert ids(api_client.get("/api/posts?sort=hot"))[0] == fresh.id
    assert ids(api_client.get("/api/posts?sort=top&period=day")) == [split.id, fresh.id]
    assert ids(api_client.get("/api/posts"))[0] == fresh.id  # default hot


@pytest.mark.parametrize(
    "query", ["sort=best", "period=decade", "author=abc", "cursor=%%%", "cursor=eyJ2IjpbMV0sImQiOiJuIn0"]
)
def test_bad_parameters_are_400(api_client, category, query):
    PostFactory(category=category)
    r = api_client.get(f"/api/posts?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


def test_unknown_category_or_tag_is_404(api_client, category):
    assert api_client.get("/api/posts?category=nope").status_code == 404
    assert api_client.get("/api/posts?tag=nope").status_code == 404


def test_filters_category_with_subcategories_tag_and_author(api_client, category):
    sub = CategoryFactory(slug="sub", parent=category)
    other = CategoryFactory(slug="other")
    a = PostFactory(category=category)
    b = PostFactory(category=sub)
    c = PostFactory(category=other, author=a.author)
    tag = TagFactory(slug="gm")
    PostTag.objects.create(post=c, tag=tag)
    assert set(ids(api_client.get("/api/posts?category=general&sort=new"))) == {a.id, b.id}
    assert ids(api_client.get("/api/posts?category=sub")) == [b.id]
    assert ids(api_client.get("/api/posts?tag=gm")) == [c.id]
    assert ids(api_client.get(f"/api/posts?author={a.author_id}&sort=new")) == [c.id, a.id]


def test_pinned_posts_lead_category_feed(api_client, category):
    pinned = PostFactory(category=category, is_pinned=True)
    newer = PostFactory(category=category, hot_rank=100)
    assert ids(api_client.get("/api/posts?category=general&sort=new")) == [pinned.id, newer.id]
    assert ids(api_client.get("/api/posts?category=general&sort=hot")) == [pinned.id, newer.id]


def test_cursor_walks_every_post_once_both_ways(api_client, category):
    posts = [PostFactory(category=category, hot_rank=float(i % 4)) for i in range(23)]
    seen, cursor, pages = [], None, []
    while True:
        r = api_client.get("/api/posts?sort=hot&limit=5" + (f"&cursor={cursor}" if cursor else ""))
        page = ids(r)
        pages.append((page, r.json()["meta"]["pagination"]))
        seen += page
        cursor = r.json()["meta"]["pagination"]["next_cursor"]
        if not cursor:
            break
    expected = [p.id for p in sorted(posts, key=lambda p: (p.hot_rank, p.id), reverse=True)]
    assert seen == expected
    assert pages[0][1]["limit"] == 5 and pages[0][1]["prev_cursor"] is None
    back = ids(api_client.get(f"/api/posts?sort=hot&limit=5&cursor={pages[2][1]['prev_cursor']}"))
    assert back == pages[1][0]


def test_limit_is_clamped(api_client, category):
    r = api_client.get("/api/posts?limit=1000")
    assert r.json()["meta"]["pagination"]["limit"] == 100


def test_my_vote_is_shown(make_client, category):
    voter = UserFactory()
    posts = [PostFactory(category=category) for _ in range(3)]
    vote_post(user=voter, post_id=posts[1].id, value=-1)
    data = make_client(voter).get("/api/posts?sort=new").json()["data"]
    assert [p["my_vote"] for p in data] == [0, -1, 0]
    assert [p["score"] for p in data] == [0, -1, 0]


@pytest.mark.parametrize("sort", ["hot", "new", "top", "controversial", "active"])
def test_feed_query_count_does_not_grow_with_page_size(make_client, category, sort, django_assert_max_num_queries):
    viewer = UserFactory()
    client = make_client(viewer)
    tag = TagFactory(slug="gm")
    for _ in range(3):
        PostTag.objects.create(post=PostFactory(category=category, tag_slugs=["gm"]), tag=tag)
    with django_assert_max_num_queries(4) as small:
        assert len(ids(client.get(f"/api/posts?sort={sort}&limit=3"))) == 3
    for _ in range(40):
        PostTag.objects.create(post=PostFactory(category=category, tag_slugs=["gm"]), tag=tag)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(ids(client.get(f"/api/posts?sort={sort}&limit=40"))) == 40
    with django_assert_max_num_queries(len(small.captured_queries) + 1):  # + the tag lookup
        assert len(ids(client.get(f"/api/posts?sort={sort}&limit=40&tag=gm&category=general"))) == 40


def test_seek_condition_is_an_index_condition_and_pages_match(api_client, category):
    """Deep pages inside a tie group (cold posts all have hot_rank 0) walk the same rows with the
    row comparison, and the SQL carries it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    posts = [PostFactory(category=category, hot_rank=0.0 if i < 15 else float(i)) for i in range(25)]
    expected = [p.id for p in sorted(posts, key=lambda p: (p.hot_rank, p.id), reverse=True)]
    seen, cursor = [], None
    while True:
        with CaptureQueriesContext(connection) as ctx:
            r = api_client.get("/api/posts?sort=hot&limit=4" + (f"&cursor={cursor}" if cursor else ""))
        if cursor:
            assert any('("posts"."hot_rank", "posts"."id") <' in q["sql"] for q in ctx.captured_queries)
        seen += ids(r)
        cursor = r.json()["meta"]["pagination"]["next_cursor"]
        if not cursor:
            break
    assert seen == expected


@pytest.mark.parametrize("values, status", [(["x", 1], 400), ([1.5, "y"], 400), ([[1], 2], 400), ([None, 3], 200)])
def test_tampered_cursor_values_are_400_not_500(api_client, category, values, status):
    from apps.core.pagination import encode_cursor

    PostFactory(category=category)
    r = api_client.get(f"/api/posts?sort=hot&cursor={encode_cursor(values, 'n')}")
    assert r.status_code == status, r.json()
