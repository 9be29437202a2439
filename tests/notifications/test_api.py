"""The notifications HTTP API: list (filters, cursor), read state, mark many, unread count,
deletion, settings, subscriptions; and what another user may not touch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.notifications.models import Notification, Subscription
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(user):
    now = timezone.now()
    rows = [
        NotificationFactory(user=user, type="level_up" if i % 2 else "mention", created_at=now - timedelta(minutes=i))
        for i in range(5)
    ]
    rows[0].read_at = now
    rows[0].save()
    NotificationFactory()  # someone else's
    return rows


def test_list_is_newest_first_with_cursor_and_filters(auth_client, feed, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = auth_client.get("/api/notifications?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert [n["id"] for n in body["data"]] == [feed[0].id, feed[1].id]
    first = body["data"][0]
    assert set(first) >= {"id", "type", "title", "body", "data", "read", "created_at"}
    assert first["read"] is True and first["created_at"].endswith("Z")
    page2 = auth_client.get(f"/api/notifications?limit=2&cursor={body['meta']['pagination']['next_cursor']}").json()
    assert [n["id"] for n in page2["data"]] == [feed[2].id, feed[3].id]

    unread = auth_client.get("/api/notifications?unread=true").json()["data"]
    assert feed[0].id not in [n["id"] for n in unread] and len(unread) == 4
    mentions = auth_client.get("/api/notifications?type=mention").json()["data"]
    assert {n["type"] for n in mentions} == {"mention"} and len(mentions) == 3

    for bad in ("unread=maybe", "type=nope", "cursor=garbage!!"):
        response = auth_client.get(f"/api/notifications?{bad}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_requires_authentication(api_client):
    for path in ("/api/notifications", "/api/notifications/unread-count", "/api/notifications/settings"):
        assert api_client.get(path).status_code == 401


def test_read_unread_one_and_unread_count(auth_client, feed):
    assert auth_client.get("/api/notifications/unread-count").json()["data"] == {"unread_count": 4}
    response = auth_client.put(f"/api/notifications/{feed[1].id}/", {"read": True}, format="json")
    assert response.status_code == 200 and response.json()["data"]["read"] is True
    assert auth_client.get("/api/notifications/unread-count").json()["data"]["unread_count"] == 3
    response = auth_client.put(f"/api/notifications/{feed[1].id}", {"read": False}, format="json")
    assert response.json()["data"]["read"] is False
    assert auth_client.put(f"/api/notifications/{feed[1].id}", {"read": "perhaps"}, format="json").status_code == 400
    assert auth_client.put(f"/api/notifications/{feed[1].id}", {}, format="json").status_code == 400


def test_mark_many_and_all(auth_client, feed):
    response = auth_client.post("/api/notifications/read", {"ids": [feed[1].id, feed[2].id]}, format="json")
    assert response.json()["data"] == {"updated": 2, "unread_count": 2}
    response = auth_client.post("/api/notifications/read", {"all": True}, format="json")
    assert response.json()["data"] == {"updated": 2, "unread_count": 0}
    for bad in ({}, {"ids": []}, {"ids": ["x"]}, {"all": "yes please"}):
        response = auth_client.post("/api/notifications/read", bad, format="json")
        assert response.status_code == 400, bad


def test_another_users_notification_is_not_found_and_untouched(make_client, feed):
    other = make_client(UserFactory())
    target = feed[1]
    assert other.put(f"/api/notifications/{target.id}", {"read": True}, format="json").status_code == 404
    assert other.delete(f"/api/notifications/{target.id}").status_code == 404
    response = other.post("/api/notifications/read", {"ids": [target.id]}, format="json")
    assert response.json()["data"]["updated"] == 0
    target.refresh_from_db()
    assert target.read_at is None
    assert other.put("/api/notifications/notanumber", {"read": True}, format="json").status_code == 404


def test_delete(auth_client, feed):
    assert auth_client.delete(f"/api/notifications/{feed[2].id}").status_code == 204
    assert not Notification.objects.filter(pk=feed[2].id).exists()
    assert auth_client.delete(f"/api/notifications/{feed[2].id}").status_code == 404


def test_unread_count_uses_the_partial_index(user, feed):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        qs = Notification.objects.filter(user_id=user.pk, read_at__isnull=True, in_app=True)
        plan = qs.explain()
    assert "notifications_unread_idx" in plan


def test_settings_get_and_put(auth_client):
    body = auth_client.get("/api/notifications/settings").json()["data"]
    types = {row["type"]: row for row in body["types"]}
    assert types["vote"] == {"type": "vote", "label": types["vote"]["label"], "in_app": True, "email": False}
    assert body["email_frequency"] == "daily" and body["dnd_until"] is None

    until = (timezone.now() + timedelta(hours=2)).isoformat()
    response = auth_client.put(
        "/api/notifications/settings",
        {
            "types": {"vote": {"email": True}, "mention": {"in_app": False}},
            "email_frequency": "immediate",
            "dnd_until": until,
        },
        format="json",
    )
    assert response.status_code == 200
    types = {row["type"]: row for row in response.json()["data"]["types"]}
    assert types["vote"]["email"] is True and types["vote"]["in_app"] is True
    assert types["mention"]["in_app"] is False
    assert response.json()["data"]["email_frequency"] == "immediate"
    # Partial: clearing DND leaves the rest alone.
    response = auth_client.put("/api/notifications/settings", {"dnd_until": None}, format="json")
    data = response.json()["data"]
    assert data["dnd_until"] is None and data["email_frequency"] == "immediate"

    for bad in (
        {"types": {"nope": {"email": True}}},
        {"email_frequency": "hourly"},
        {"types": {"vote": {"email": "loud"}}},
        {"dnd_until": "tomorrow"},
    ):
        response = auth_client.put("/api/notifications/settings", bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", bad


def test_subscriptions_list_and_change(auth_client, user):
    other = UserFactory()
    category = CategoryFactory()
    post = PostFactory(category=category)
    for payload in (
        {"target_type": "category", "target_id": category.pk, "level": "watch"},
        {"target_type": "thread", "target_id": post.pk, "level": "mute"},
        {"target_type": "user", "target_id": other.pk, "level": "mute"},
    ):
        response = auth_client.put("/api/notifications/subscriptions", payload, format="json")
        assert response.status_code == 200 and response.json()["data"]["level"] == payload["level"]
    response = auth_client.put(
        "/api/notifications/subscriptions",
        {"target_type": "category", "target_id": category.pk, "level": "track"},
        format="json",
    )
    assert response.json()["data"]["level"] == "track"
    listed = auth_client.get("/api/notifications/subscriptions").json()
    assert len(listed["data"]) == 3 and "pagination" in listed["meta"]
    muted = auth_client.get("/api/notifications/subscriptions?level=mute").json()["data"]
    assert {s["target_type"] for s in muted} == {"thread", "user"}

    response = auth_client.put(
        "/api/notifications/subscriptions",
        {"target_type": "thread", "target_id": post.pk, "level": "normal"},
        format="json",
    )
    assert response.status_code == 204
    assert auth_client.delete(f"/api/notifications/subscriptions/user/{other.pk}").status_code == 204
    assert list(Subscription.objects.filter(user=user).values_list("target_type", flat=True)) == ["category"]

    for bad in (
        {"target_type": "planet", "target_id": 1, "level": "watch"},
        {"target_type": "category", "target_id": -1, "level": "watch"},
        {"target_type": "category", "target_id": 1, "level": "obsess"},
        {"target_type": "user", "target_id": user.pk, "level": "mute"},
        {"target_type": "user", "target_id": other.pk, "level": "track"},
    ):
        response = auth_client.put("/api/notifications/subscriptions", bad, format="json")
        assert response.status_code == 400, bad
    response = auth_client.put(
        "/api/notifications/subscriptions", {"target_type": "user", "target_id": 10**12, "level": "mute"}, format="json"
    )
    assert response.status_code == 404
    assert auth_client.get("/api/notifications/subscriptions?target_type=planet").status_code == 400


def test_nobody_subscribes_to_what_they_may_not_read(auth_client, user, make_client):
    """Watching a staff-only category or a hidden thread would deliver its titles and excerpts to
    someone who may not read them; an unknown id answers the same 404, so ids cannot be probed."""
    staff_only = CategoryFactory(read_access="moderator")
    hidden = PostFactory(status="hidden")
    in_staff_only = PostFactory(category=staff_only)
    targets = [("category", staff_only.pk), ("thread", hidden.pk), ("thread", in_staff_only.pk), ("category", 10**9)]
    for target_type, target_id in targets:
        for level in ("watch", "track", "mute"):
            payload = {"target_type": target_type, "target_id": target_id, "level": level}
            response = auth_client.put("/api/notifications/subscriptions", payload, format="json")
            assert response.status_code == 404, payload
            assert response.json()["error"]["code"] == "not_found"
    assert not Subscription.objects.filter(user=user).exists()
    # going back to the default is always allowed (it only deletes the caller's own row)
    payload = {"target_type": "category", "target_id": staff_only.pk, "level": "normal"}
    assert auth_client.put("/api/notifications/subscriptions", payload, format="json").status_code == 204

    moderator = make_client(UserFactory(role="moderator"))
    for target_type, target_id in targets[:3]:
        payload = {"target_type": target_type, "target_id": target_id, "level": "watch"}
        assert moderator.put("/api/notifications/subscriptions", payload, format="json").status_code == 200
