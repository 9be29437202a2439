"""Anonymous feed pages in the shared cache (apps.forum.feed_cache): served without a query,
invalidated by the domain events (a new post is in `new` at once), never given to a signed-in
caller, and the database still answers when the cache is unreachable."""

import pytest

from apps.forum import services
from apps.forum.models import ReadAccess
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.json()
    return [p["id"] for p in response.json()["data"]]


def test_an_anonymous_page_is_served_from_the_cache_without_a_query(api_client, category, django_assert_num_queries):
    post = PostFactory(category=category)
    first = api_client.get("/api/posts?sort=new")
    assert first["X-Feed-Cache"] == "miss"
    with django_assert_num_queries(0):
        again = api_client.get("/api/posts?sort=new")
    assert again["X-Feed-Cache"] == "hit"
    assert again.json() == first.json() and ids(again) == [post.id]
    # Other parameters are other pages.
    assert api_client.get("/api/posts?sort=top")["X-Feed-Cache"] == "miss"
    assert api_client.get("/api/posts?sort=new&limit=5")["X-Feed-Cache"] == "miss"


def test_a_new_post_appears_at_once_in_new(api_client, category, make_client, django_capture_on_commit_callbacks):
    old = PostFactory(category=category)
    assert ids(api_client.get("/api/posts?sort=new")) == [old.id]
    author = make_client(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        r = author.post("/api/posts", {"title": "Fresh news", "body": "Hello there", "category": "general"})
    assert r.status_code == 201, r.json()
    fresh = api_client.get("/api/posts?sort=new")
    assert fresh["X-Feed-Cache"] == "miss"
    assert ids(fresh) == [r.json()["data"]["id"], old.id]


def test_edits_deletes_and_moderation_invalidate(api_client, category, moderator, django_capture_on_commit_callbacks):
    post = PostFactory(category=category)
    other = PostFactory(category=category)
    assert ids(api_client.get("/api/posts?sort=new")) == [other.id, post.id]
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(post_id=post.id, editor=post.author, title="A better title")
    assert api_client.get("/api/posts?sort=new").json()["data"][1]["title"] == "A better title"
    with django_capture_on_commit_callbacks(execute=True):
        services.post_set_status(post_id=other.id, actor=moderator, status="hidden")
    assert ids(api_client.get("/api/posts?sort=new")) == [post.id]
    with django_capture_on_commit_callbacks(execute=True):
        services.post_set_status(post_id=other.id, actor=moderator, status="published")
    assert ids(api_client.get("/api/posts?sort=new")) == [other.id, post.id]
    with django_capture_on_commit_callbacks(execute=True):
        services.post_delete(post_id=post.id, actor=post.author)
    assert ids(api_client.get("/api/posts?sort=new")) == [other.id]


def test_a_category_closed_to_the_public_leaves_the_anonymous_feed_at_once(
    api_client, category, django_capture_on_commit_callbacks
):
    post = PostFactory(category=category)
    assert ids(api_client.get("/api/posts")) == [post.id]
    with django_capture_on_commit_callbacks(execute=True):
        category.read_access = ReadAccess.USER
        category.save()
    assert ids(api_client.get("/api/posts")) == []


def test_signed_in_callers_never_get_the_anonymous_page(api_client, category, make_client):
    post = PostFactory(category=category)
    voter = UserFactory()
    services.vote_post(user=voter, post_id=post.id, value=1)
    anonymous = api_client.get("/api/posts")
    assert anonymous.json()["data"][0]["my_vote"] == 0
    mine = make_client(voter).get("/api/posts")
    assert "X-Feed-Cache" not in mine
    assert mine.json()["data"][0]["my_vote"] == 1
    # …and what a signed-in caller saw is never stored for the anonymous ones.
    assert api_client.get("/api/posts").json()["data"][0]["my_vote"] == 0
    # Members-only content seen by a member stays out of the anonymous page.
    members = CategoryFactory(slug="members", read_access=ReadAccess.USER)
    PostFactory(category=members)
    api_client.get("/api/posts?sort=new")
    assert len(make_client(voter).get("/api/posts?sort=new").json()["data"]) == 2
    assert ids(api_client.get("/api/posts?sort=new")) == [post.id]


@pytest.mark.parametrize("ignore_exceptions", [False, True])
def test_an_unreachable_cache_still_serves_from_the_database(api_client, category, settings, ignore_exceptions):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": ignore_exceptions,
            },
        },
    }
    settings.FEED_CACHE_ALIAS = "down"
    post = PostFactory(category=category)
    for _ in range(2):
        r = api_client.get("/api/posts?sort=new")
        assert ids(r) == [post.id]
        assert r["X-Feed-Cache"] == "miss"


def test_a_hit_sends_the_stored_gzip_encoding_as_the_middleware_would(api_client, category, monkeypatch):
    """A hit is not compressed again: the page's gzip encoding is stored with it. The caller sees
    what GZipMiddleware sends (encoding, Vary, weak ETag, 304 on it), and a caller that does not
    accept gzip gets the plain bytes."""
    import gzip
    import json

    from apps.core import middleware

    PostFactory.create_batch(3, category=category)
    first = api_client.get("/api/posts?sort=new", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert first["X-Feed-Cache"] == "miss" and first["Content-Encoding"] == "gzip"
    compressions: list[int] = []
    real = middleware.gzip_bytes

    def counting(*args, **kwargs):
        compressions.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(middleware, "gzip_bytes", counting)
    hit = api_client.get("/api/posts?sort=new", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert hit["X-Feed-Cache"] == "hit" and hit["Content-Encoding"] == "gzip"
    assert compressions == []
    assert json.loads(gzip.decompress(hit.content)) == json.loads(gzip.decompress(first.content))
    assert hit["ETag"] == first["ETag"] and hit["ETag"].startswith('W/"')
    assert "Accept-Encoding" in hit["Vary"] and int(hit["Content-Length"]) == len(hit.content)
    again = api_client.get("/api/posts?sort=new", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=hit["ETag"])
    assert again.status_code == 304
    plain = api_client.get("/api/posts?sort=new")
    assert plain["X-Feed-Cache"] == "hit" and not plain.has_header("Content-Encoding")
    assert plain.json() == json.loads(gzip.decompress(first.content)) and "Accept-Encoding" in plain["Vary"]


def test_a_page_this_process_served_a_moment_ago_is_answered_from_its_memory(api_client, category, monkeypatch):
    """No round trip to the shared cache for a page served within FEED_CACHE_LOCAL_SECONDS: the
    shared cache may even be gone."""
    from apps.forum import feed_cache

    post = PostFactory(category=category)
    assert api_client.get("/api/posts?sort=new")["X-Feed-Cache"] == "miss"

    def gone():
        raise AssertionError("the shared cache was asked")

    monkeypatch.setattr(feed_cache, "_cache", gone)
    again = api_client.get("/api/posts?sort=new")
    assert again["X-Feed-Cache"] == "hit" and ids(again) == [post.id]


def test_another_processs_version_bump_reaches_this_process_when_its_copy_expires(
    api_client, category, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A bump made here forgets this process's copies at once (the tests above); one made by
    another process (here: straight in the shared cache, as that process would) is seen once
    the copy is FEED_CACHE_LOCAL_SECONDS old."""
    import time

    from apps.forum import feed_cache

    settings.FEED_CACHE_LOCAL_SECONDS = 5
    old = PostFactory(category=category)
    assert ids(api_client.get("/api/posts?sort=new")) == [old.id]
    new = PostFactory(category=category)  # no event here: as if written through another process
    feed_cache._cache().set(feed_cache.VERSION_KEY, time.time_ns(), None)
    assert ids(api_client.get("/api/posts?sort=new")) == [old.id]  # this process's copy, < 5 s old
    later = time.monotonic() + 5
    monkeypatch.setattr(feed_cache, "monotonic", lambda: later)
    fresh = api_client.get("/api/posts?sort=new")
    assert fresh["X-Feed-Cache"] == "miss" and ids(fresh) == [new.id, old.id]
