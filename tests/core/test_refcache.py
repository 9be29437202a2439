"""Per-process reference data (apps.core.refcache): queries saved on the feed, invalidation that
reaches other processes through the shared version, a bounded staleness when the cache is down,
and the warm-up at ASGI start."""

import asyncio

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import refcache
from apps.forum import reference
from apps.forum.models import PostTag
from apps.gamification import catalogue
from apps.gamification.models import Level
from tests.forum.factories import CategoryFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_feed_cache(settings):
    settings.FEED_CACHE_SECONDS = 0  # measure the reference cache alone


def _table_queries(ctx, table):
    """Queries reading `table` itself (not joining it)."""
    return [q["sql"] for q in ctx.captured_queries if f'FROM "{table}"' in q["sql"]]


def test_a_warm_process_reads_no_category_or_tag_rows_on_the_feed(api_client, django_assert_num_queries):
    general = CategoryFactory(slug="general")
    CategoryFactory(slug="general-sub", parent=general)
    tag = TagFactory(slug="memes")
    post = PostFactory(category=general, tag_slugs=["memes"])
    PostTag.objects.create(post=post, tag=tag)
    url = "/api/posts?category=general&tag=memes"

    with CaptureQueriesContext(connection) as cold:
        assert api_client.get(url).status_code == 200
    # Cold: the category tree and the tag map are loaded once (2 queries) besides the feed itself.
    assert len(_table_queries(cold, "categories")) == 1
    assert len(_table_queries(cold, "tags")) == 1
    with django_assert_num_queries(len(cold) - 2) as warm:
        r = api_client.get(url)
    assert [p["id"] for p in r.json()["data"]] == [post.id]
    assert not _table_queries(warm, "categories") and not _table_queries(warm, "tags")


def test_the_unfiltered_feed_saves_the_category_query(api_client, django_assert_num_queries):
    PostFactory(category=CategoryFactory(slug="general"))
    with CaptureQueriesContext(connection) as cold:
        api_client.get("/api/posts")
    with django_assert_num_queries(len(cold) - 1):
        api_client.get("/api/posts")


def test_a_change_made_by_another_process_is_seen_after_the_check_interval(settings, monkeypatch):
    settings.REFERENCE_CACHE_CHECK_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: clock[0])
    CategoryFactory(slug="general", name="General")
    assert reference.categories().by_slug["general"].name == "General"

    # Another process renamed it and published a new version (its ReferenceDataChanged receiver):
    # simulated by the row change plus the version bump, without touching this process's memory.
    from apps.forum.models import Category

    Category.objects.filter(slug="general").update(name="Renamed")
    caches[settings.REFERENCE_CACHE_ALIAS].set(refcache._VERSION_KEY.format(reference.CATEGORIES), 1, None)

    clock[0] += 1  # within the check interval: still the loaded copy, no query
    assert reference.categories().by_slug["general"].name == "General"
    clock[0] += 5  # past it: the moved version is noticed and the tree reloaded
    assert reference.categories().by_slug["general"].name == "Renamed"


def test_a_save_drops_the_local_copy_and_publishes_a_new_version(settings, django_capture_on_commit_callbacks):
    category = CategoryFactory(slug="general", name="General")
    reference.categories()
    key = refcache._VERSION_KEY.format(reference.CATEGORIES)
    before = caches[settings.REFERENCE_CACHE_ALIAS].get(key)
    with django_capture_on_commit_callbacks(execute=True):
        category.name = "Changed"
        category.save()
    assert caches[settings.REFERENCE_CACHE_ALIAS].get(key) != before
    assert reference.categories().by_slug["general"].name == "Changed"


def test_levels_are_cached_and_invalidated_by_a_save(django_assert_num_queries):
    Level.objects.all().delete()
    Level.objects.create(number=1, min_points=0, name="One")
    Level.objects.create(number=2, min_points=100, name="Two")
    assert catalogue.level_for_points(150) == 2
    with django_assert_num_queries(0):
        assert catalogue.level_for_points(150) == 2
        assert catalogue.level_for_points(50) == 1
    Level.objects.create(number=3, min_points=120, name="Three")
    assert catalogue.level_for_points(150) == 3


def test_when_the_shared_cache_is_down_values_are_served_and_reloaded_after_max_age(settings, monkeypatch):
    settings.REFERENCE_CACHE_CHECK_SECONDS = 0
    settings.REFERENCE_CACHE_MAX_AGE = 60
    clock = [5000.0]
    monkeypatch.setattr(refcache.time, "monotonic", lambda: clock[0])
    CategoryFactory(slug="general", name="General")
    assert reference.categories().by_slug["general"].name == "General"

    def down(*args, **kwargs):
        raise ConnectionError("redis is gone")

    store = caches[settings.REFERENCE_CACHE_ALIAS]
    monkeypatch.setattr(store, "get_many", down)
    monkeypatch.setattr(store, "add", down)
    from apps.forum.models import Category

    Category.objects.filter(slug="general").update(name="Renamed")
    clock[0] += 10
    assert reference.categories().by_slug["general"].name == "General"  # still served
    clock[0] += 60
    assert reference.categories().by_slug["general"].name == "Renamed"  # max age reached


def test_warm_loads_every_registered_name(django_assert_num_queries):
    assert set(refcache.registered()) >= {
        "forum.categories", "forum.tag_ids", "gamification.levels", "gamification.activities",
        "gamification.achievements",
    }  # fmt: skip
    assert set(refcache.warm()) == set(refcache.registered())
    with django_assert_num_queries(0):
        reference.categories()
        catalogue.levels()
        catalogue.activities()


def test_the_asgi_lifespan_startup_warms_the_caches(monkeypatch):
    from successkid import asgi

    called = []
    monkeypatch.setattr(asgi, "_warm", lambda: called.append(True) or ["x"])
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(asgi.application({"type": "lifespan"}, receive, send))
    assert called == [True]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
