"""Feeds and categories are served from rows (apps.forum.selectors.post_feed_page, category_list),
not from model instances and serializers: what they answer must stay exactly what the serializers
answer for the same objects, the public user's privacy included; and a feed-cache hit is the
stored bytes with their ETag (304, gzip, sparse fieldsets all still hold)."""

import gzip
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.forum import services
from apps.forum.api.serializers import CategorySerializer, PostSerializer
from apps.forum.models import Category, PostTag
from apps.forum.selectors import post_get
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def _holder(show_holdings: bool):
    user = UserFactory()
    user.profile.holder_tier = "holder"
    user.profile.show_holdings = show_holdings
    user.profile.level, user.profile.points, user.profile.display_name = 4, 321, "Kid"
    user.profile.save()
    return user


def _as_json(data):
    return json.loads(JSONRenderer().render(data))


def test_a_feed_row_is_the_post_its_own_endpoint_renders(make_client, category):
    shows, hides = _holder(True), _holder(False)
    tag = TagFactory(slug="gm")
    edited = PostFactory(category=category, author=shows, tag_slugs=["gm"], edited_at=timezone.now())
    PostTag.objects.create(post=edited, tag=tag)
    voted = PostFactory(category=category, author=hides, created_at=timezone.now() - timedelta(hours=2))
    PostFactory(category=category, author=shows)  # the same author twice on a page
    viewer = UserFactory()
    services.vote_post(user=viewer, post_id=voted.id, value=-1)
    for client, who in ((make_client(), None), (make_client(viewer), viewer)):
        for query in ("sort=new", "sort=hot&tag=gm", "sort=top&category=general", "sort=active&limit=2"):
            r = client.get(f"/api/posts?{query}")
            assert r.status_code == 200, r.json()
            rows = r.json()["data"]
            assert rows
            for row in rows:
                assert row == _as_json(PostSerializer(post_get(viewer=who, post_id=row["id"])).data)
    rows = {p["id"]: p for p in make_client(viewer).get("/api/posts?sort=new").json()["data"]}
    assert rows[voted.id]["my_vote"] == -1 and rows[edited.id]["my_vote"] == 0
    assert rows[edited.id]["author"]["holder_tier"] == "holder"
    assert rows[voted.id]["author"]["holder_tier"] == "none"  # the owner does not show their holdings
    assert rows[edited.id]["created_at"].endswith("Z")


def test_a_cursor_with_a_null_key_is_read_as_the_orm_reads_it(api_client, category):
    from apps.core.pagination import encode_cursor

    posts = [PostFactory(category=category, hot_rank=float(i)) for i in range(4)]
    by_rank = [p.id for p in sorted(posts, key=lambda p: (p.hot_rank, p.id), reverse=True)]
    everything = api_client.get(f"/api/posts?sort=hot&cursor={encode_cursor([None, 0], 'n')}")
    assert [p["id"] for p in everything.json()["data"]] == by_rank  # no row has a null rank: all are after
    from_rank_2 = api_client.get(f"/api/posts?sort=hot&cursor={encode_cursor([2.0, None], 'n')}")
    assert [p["id"] for p in from_rank_2.json()["data"]] == by_rank[1:]
    before = api_client.get(f"/api/posts?sort=hot&cursor={encode_cursor([None, 0], 'p')}")
    assert before.status_code == 200 and before.json()["data"] == []


def test_categories_are_what_the_category_serializer_renders(
    api_client, make_client, category, django_assert_num_queries
):
    sub = CategoryFactory(slug="sub", parent=category, trending_tags=["gm", "wagmi"], trending_score=1.5)
    sub.trending_updated_at = timezone.now()
    sub.save()
    CategoryFactory(slug="members", read_access="user", position=-1)
    api_client.get("/api/categories")  # the per-process category tree is loaded
    with django_assert_num_queries(1):
        r = api_client.get("/api/categories")
    expected = [
        _as_json(CategorySerializer(c).data)
        for c in Category.objects.select_related("parent").order_by("position", "id")
        if c.slug != "members"
    ]
    assert r.json()["data"] == expected
    assert [c["slug"] for c in r.json()["data"]] == ["general", "sub"]
    assert [c["slug"] for c in make_client(UserFactory()).get("/api/categories").json()["data"]] == [
        "members",
        "general",
        "sub",
    ]
    assert api_client.get("/api/categories/sub").json()["data"] == expected[1]
    assert api_client.get("/api/categories/members").status_code == 404


def test_a_cache_hit_is_the_stored_page_with_its_etag(api_client, category, django_assert_num_queries):
    PostFactory(category=category, title="Success \u2028 Kid")
    miss = api_client.get("/api/posts?sort=new")
    assert miss["X-Feed-Cache"] == "miss" and miss["ETag"]
    assert b"\\u2028" in miss.content  # escaped as DRF's renderer does
    with django_assert_num_queries(0):
        hit = api_client.get("/api/posts?sort=new")
    assert hit["X-Feed-Cache"] == "hit" and hit["ETag"] == miss["ETag"] and hit.content == miss.content
    assert hit["Content-Type"] == miss["Content-Type"] == "application/json; charset=utf-8"
    not_modified = api_client.get("/api/posts?sort=new", HTTP_IF_NONE_MATCH=miss["ETag"])
    assert not_modified.status_code == 304 and not_modified.content == b""
    zipped = api_client.get("/api/posts?sort=new", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == miss.content


def test_each_sparse_fieldset_is_its_own_cached_page(api_client, category, django_assert_num_queries):
    PostFactory(category=category)
    assert api_client.get("/api/posts?fields=title")["X-Feed-Cache"] == "miss"
    with django_assert_num_queries(0):
        hit = api_client.get("/api/posts?fields=title")
    assert hit["X-Feed-Cache"] == "hit" and [set(p) for p in hit.json()["data"]] == [{"id", "title"}]
    assert api_client.get("/api/posts?fields=title,score")["X-Feed-Cache"] == "miss"
    assert api_client.get("/api/posts?fields=score,title")["X-Feed-Cache"] == "hit"  # the same fieldset
    whole = api_client.get("/api/posts")
    assert whole["X-Feed-Cache"] == "miss" and "author" in whole.json()["data"][0]


def test_an_indent_asked_for_in_accept_still_indents(api_client, category):
    PostFactory(category=category)
    r = api_client.get("/api/categories", HTTP_ACCEPT="application/json; indent=2")
    assert r.status_code == 200 and r.content.startswith(b'{\n  "data": [')
