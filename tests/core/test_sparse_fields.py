"""Sparse fieldsets (`?fields=`) on the large list endpoints (apps.core.sparse)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def rows(response):
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def test_posts_keep_only_the_requested_fields_and_id(api_client):
    PostFactory(category=CategoryFactory(slug="general"))
    for _ in range(2):  # a miss, then the same page from the anonymous feed cache
        data = rows(api_client.get("/api/posts?fields=title,score"))
        assert [set(r) for r in data] == [{"id", "title", "score"}]
    # the cached page was stored whole: a request without `fields` gets every field
    assert "author" in rows(api_client.get("/api/posts"))[0]


def test_a_dropped_author_is_not_even_rendered(auth_client, monkeypatch):
    PostFactory(category=CategoryFactory(slug="general"))

    def boom(*args, **kwargs):
        raise AssertionError("the author was rendered")

    monkeypatch.setattr("apps.accounts.api.serializers.PublicUserSerializer.to_representation", boom)
    monkeypatch.setattr("apps.forum.selectors.public_user_fields", boom)  # the feed renders rows
    assert set(rows(auth_client.get("/api/posts?fields=title"))[0]) == {"id", "title"}


def test_an_unknown_field_is_a_400_listing_the_allowed_ones(api_client):
    r = api_client.get("/api/posts?fields=title,password")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert "password" in error["message"] and "Allowed:" in error["message"]
    assert "title" in error["details"]["allowed"] and "my_vote" in error["details"]["allowed"]


def test_comments(api_client):
    post = PostFactory(category=CategoryFactory(slug="general"))
    CommentFactory(post=post)
    assert [set(r) for r in rows(api_client.get(f"/api/posts/{post.id}/comments?fields=body,parent_id"))] == [
        {"id", "body", "parent_id"}
    ]
    assert api_client.get(f"/api/posts/{post.id}/comments?fields=nope").status_code == 400


def test_notifications(make_client):
    from tests.notifications.factories import NotificationFactory

    user = UserFactory()
    NotificationFactory(user=user, type="mention")
    client = make_client(user)
    assert [set(r) for r in rows(client.get("/api/notifications?fields=read"))] == [{"id", "read"}]
    assert client.get("/api/notifications?fields=user").status_code == 400


def test_leaderboard_keeps_the_rank(api_client, settings):
    from apps.gamification import seed, services

    settings.GAMIFICATION_REDIS_URL = ""  # the database's answer (a shared Redis may hold other tests' boards)

    seed.load_all()
    user = UserFactory()
    services.award_points(user_id=user.id, activity="post_created", idempotency_key="k1", apply_caps=False)
    data = rows(api_client.get("/api/leaderboard?period=all&fields=points"))
    assert data and [set(r) for r in data] == [{"rank", "points"}]
    assert api_client.get("/api/leaderboard?fields=email").status_code == 400


def test_market_history_keeps_the_time(api_client):
    from apps.market.jobs import Fold, fold_many

    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    fold_many([(Fold.point(Decimal(1 + i), t0 + timedelta(minutes=i)), ["1m"]) for i in range(3)])
    params = {"interval": "1m", "from": "2026-11-26T10:00:00Z", "to": "2026-11-26T10:10:00Z", "fields": "close"}
    data = rows(api_client.get("/api/market/history", params))
    assert len(data) == 3 and all(set(r) == {"t", "close"} for r in data)
    assert api_client.get("/api/market/history", {**params, "fields": "price"}).status_code == 400


def test_search_results_by_type(api_client):
    from tests.search.factories import PostFactory as SearchPostFactory

    SearchPostFactory(title="Success kid rocket", body="to the moon")
    data = rows(api_client.get("/api/search?q=rocket&fields=title"))
    assert data and all(set(r) == {"id", "title"} for r in data)
    # allowed names follow the hit type
    assert api_client.get("/api/search?q=rocket&type=user&fields=username").status_code == 200
    r = api_client.get("/api/search?q=rocket&type=user&fields=title")
    assert r.status_code == 400 and "username" in r.json()["error"]["details"]["allowed"]


def test_the_schema_documents_the_parameter(api_client):
    schema = api_client.get("/api/schema?format=json").json()
    for path in ("/api/posts", "/api/posts/{post_id}/comments", "/api/notifications", "/api/search",
                 "/api/leaderboard", "/api/market/history"):  # fmt: skip
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert "fields" in params, path
        assert "Allowed:" in params["fields"]["description"]
    assert "fields" not in {p["name"] for p in schema["paths"]["/api/posts/{post_id}"]["get"].get("parameters", [])}
