"""GET /api/trending and the search log's retention job."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.forum.models import ReadAccess
from apps.search import services, tasks
from apps.search.models import SearchLog
from tests.search.factories import CategoryFactory, PostFactory

pytestmark = pytest.mark.django_db


def trending(client):
    response = client.get("/api/trending")
    assert response.status_code == 200
    return response.json()["data"]


def test_topics_rise_against_their_baseline(api_client):
    now = timezone.now()
    for _ in range(3):
        PostFactory(tag_slugs=["airdrop"], created_at=now - dt.timedelta(hours=1))
    for _ in range(3):
        PostFactory(tag_slugs=["memes"], created_at=now - dt.timedelta(hours=2))
    for day in range(1, 7):  # memes is always this busy; airdrop is new
        for _ in range(3):
            PostFactory(tag_slugs=["memes"], created_at=now - dt.timedelta(days=day, hours=3))
    PostFactory(tag_slugs=["ancient"], created_at=now - dt.timedelta(days=3))
    members = CategoryFactory(read_access=ReadAccess.USER)
    for _ in range(5):
        PostFactory(tag_slugs=["secret-club"], category=members, created_at=now - dt.timedelta(hours=1))

    topics = [t["tag"] for t in trending(api_client)["topics"]]
    assert topics[:2] == ["airdrop", "memes"]
    assert "ancient" not in topics
    assert "secret-club" not in topics  # from a category anonymous callers cannot read


def test_searches_count_distinct_searchers_with_results(api_client, make_client):
    from tests.factories import UserFactory

    PostFactory(title="Bridge tutorial")
    clients = [make_client(UserFactory()) for _ in range(3)]
    for client in clients:
        client.get("/api/search", {"q": "Bridge  tutorial"})
        client.get("/api/search", {"q": "zzz nothing matches"})
    spammer = make_client(UserFactory())
    for _ in range(10):
        spammer.get("/api/search", {"q": "bridge"})
    searches = trending(api_client)["searches"]
    assert searches == [{"query": "bridge tutorial", "searchers": 3, "searches": 3}]


def test_log_stores_no_user_identity(auth_client, user):
    PostFactory(title="Gas fees")
    auth_client.get("/api/search", {"q": "gas fees"})
    entry = SearchLog.objects.get()
    assert entry.query == "gas fees" and entry.result_count == 1
    assert str(user.pk) != entry.searcher and len(entry.searcher) == 16


def test_only_first_pages_are_logged(api_client):
    api_client.get("/api/search", {"q": "anything", "page": 2})
    assert SearchLog.objects.count() == 0


@override_settings(SEARCH_LOG_RETENTION_DAYS=7, SEARCH_LOG_MAX_ROWS=5)
def test_retention_job_prunes_by_age_and_size():
    now = timezone.now()
    SearchLog.objects.bulk_create(
        [SearchLog(query=f"old {i}", searcher="x", created_at=now - dt.timedelta(days=8)) for i in range(3)]
        + [SearchLog(query=f"new {i}", searcher="x", created_at=now - dt.timedelta(hours=i)) for i in range(8)]
    )
    deleted = tasks.prune_search_log.delay().get()
    assert deleted == 6
    assert sorted(SearchLog.objects.values_list("query", flat=True)) == [f"new {i}" for i in range(3, 8)]
    assert services.search_log_prune() == 0  # idempotent


def test_beat_schedules_the_jobs(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.search.tasks.prune_search_log", "apps.search.tasks.refresh_vocabulary"} <= tasks_scheduled


def test_anonymous_searchers_behind_a_trusted_proxy_are_told_apart(api_client, settings):
    """Searchers are counted by the client address (TRUSTED_PROXIES applied), not the proxy's."""
    settings.TRUSTED_PROXIES = 1
    for visitor in ("198.51.100.1", "198.51.100.2", "198.51.100.2"):
        api_client.get("/api/search", {"q": "bridge"}, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=visitor)
    assert SearchLog.objects.values("searcher").distinct().count() == 2
