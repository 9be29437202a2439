"""The moderator API: queue, item, claim, actions, direct actions, audit log, watched words;
403 for members, 401 for anonymous callers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.forum.models import Post
from apps.moderation import services
from apps.moderation.models import AuditLogEntry, Reviewable, WatchedWord
from tests.factories import UserFactory
from tests.moderation.factories import CategoryFactory, CommentFactory, ModeratorFactory, PostFactory

pytestmark = pytest.mark.django_db


def reporter():
    return UserFactory(date_joined=timezone.now() - timedelta(days=60))


def flag(target_type, target_id, reason="spam"):
    return services.report_create(
        reporter=reporter(), target_type=target_type, target_id=target_id, reason=reason
    ).report.reviewable


MODERATOR_ENDPOINTS = [
    ("get", "/api/moderation/queue"),
    ("get", "/api/moderation/queue/{id}"),
    ("post", "/api/moderation/queue/{id}/claim"),
    ("delete", "/api/moderation/queue/{id}/claim"),
    ("post", "/api/moderation/queue/{id}/actions"),
    ("post", "/api/moderation/actions"),
    ("get", "/api/moderation/audit-log"),
    ("get", "/api/moderation/watched-words"),
    ("post", "/api/moderation/watched-words"),
]


@pytest.mark.parametrize("method,path", MODERATOR_ENDPOINTS)
def test_members_get_403_and_anonymous_401(method, path, make_client, api_client):
    post = PostFactory()
    r = flag("post", post.pk)
    url = path.format(id=r.pk)
    body = {"action": "remove", "target_type": "post", "target_id": post.pk}
    res = getattr(make_client(UserFactory()), method)(url, body, format="json")
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"
    res = getattr(api_client, method)(url, body, format="json")
    assert res.status_code == 401
    assert Post.objects.get(pk=post.pk).status == "published"


def test_suspended_moderator_is_refused(make_client):
    mod = ModeratorFactory(suspended_until=timezone.now() + timedelta(days=1))
    assert make_client(mod).get("/api/moderation/queue").status_code == 403


def test_queue_lists_by_score_with_content_and_reports(moderator, make_client, django_assert_max_num_queries):
    cat = CategoryFactory(slug="memes")
    low = PostFactory(category=cat)
    flag("post", low.pk)
    high = PostFactory()
    for _ in range(3):
        flag("post", high.pk, "scam")
    comment = CommentFactory()
    flag("comment", comment.pk, "abuse")
    flag("user", UserFactory().pk)
    client = make_client(moderator)
    with django_assert_max_num_queries(12):
        res = client.get("/api/moderation/queue")
    assert res.status_code == 200
    items = res.json()["data"]
    assert len(items) == 4
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    top = items[0]
    assert top["target_type"] == "post" and top["target_id"] == high.pk and top["report_count"] == 3
    assert top["target"]["title"] == high.title and top["target"]["body"] == high.body
    assert top["target_user"]["id"] == high.author_id
    assert len(top["reports"]) == 3 and top["reports"][0]["reason"] == "scam"
    assert "pagination" in res.json()["meta"]
    # Filters
    assert [i["target_id"] for i in client.get("/api/moderation/queue?category=memes").json()["data"]] == [low.pk]
    assert [i["target_type"] for i in client.get("/api/moderation/queue?reason=abuse").json()["data"]] == ["comment"]
    assert client.get("/api/moderation/queue?target_type=user").json()["data"][0]["target"]["username"]
    # More items do not mean more queries (targets and reports load in bulk).
    for _ in range(5):
        flag("post", PostFactory().pk)
    with django_assert_max_num_queries(12):
        assert len(client.get("/api/moderation/queue").json()["data"]) == 9


def test_queue_pages_with_cursor(moderator, make_client):
    for _ in range(3):
        flag("post", PostFactory().pk)
    client = make_client(moderator)
    first = client.get("/api/moderation/queue?limit=2").json()
    assert len(first["data"]) == 2 and first["meta"]["pagination"]["next_cursor"]
    second = client.get(f"/api/moderation/queue?limit=2&cursor={first['meta']['pagination']['next_cursor']}").json()
    assert len(second["data"]) == 1
    ids = {i["id"] for i in first["data"]} | {i["id"] for i in second["data"]}
    assert len(ids) == 3
    assert client.get("/api/moderation/queue?cursor=garbage!").status_code == 400


def test_claim_act_and_audit_through_the_api(moderator, make_client):
    post = PostFactory()
    r = flag("post", post.pk)
    client = make_client(moderator)
    res = client.post(f"/api/moderation/queue/{r.pk}/claim")
    assert res.status_code == 200 and res.json()["data"]["claimed_by"]["id"] == moderator.pk
    other = make_client(ModeratorFactory())
    assert other.post(f"/api/moderation/queue/{r.pk}/claim").status_code == 409
    assert other.post(f"/api/moderation/queue/{r.pk}/actions", {"action": "dismiss"}, format="json").status_code == 409
    res = client.post(
        f"/api/moderation/queue/{r.pk}/actions", {"action": "remove", "reason": "spam link"}, format="json"
    )
    assert res.status_code == 200, res.json()
    data = res.json()["data"]
    assert data["status"] == "approved" and data["resolution"] == "remove" and data["target"]["status"] == "removed"
    assert client.post(f"/api/moderation/queue/{r.pk}/actions", {"action": "restore"}, format="json").status_code == 409
    log = client.get("/api/moderation/audit-log").json()
    assert [e["action"] for e in log["data"]][:2] == ["remove", "claim"]
    entry = log["data"][0]
    assert entry["actor"]["id"] == moderator.pk and entry["reason"] == "spam link"
    assert entry["before"]["status"] == "published" and entry["after"]["status"] == "removed"
    by_target = client.get(f"/api/moderation/audit-log?target_type=post&target_id={post.pk}").json()["data"]
    assert {e["action"] for e in by_target} == {"remove", "claim"}
    by_user = client.get(f"/api/moderation/audit-log?user={post.author_id}").json()["data"]
    assert len(by_user) == 2
    assert client.get("/api/moderation/audit-log?actor=abc").status_code == 400


def test_bad_actions_are_400_and_missing_items_404(moderator, make_client):
    r = flag("post", PostFactory().pk)
    client = make_client(moderator)
    res = client.post(f"/api/moderation/queue/{r.pk}/actions", {"action": "explode"}, format="json")
    assert res.status_code == 400 and "action" in res.json()["error"]["details"]
    res = client.post(f"/api/moderation/queue/{r.pk}/actions", {"action": "suspend"}, format="json")
    assert res.status_code == 400 and "duration_hours" in res.json()["error"]["details"]
    assert client.post("/api/moderation/queue/999999/actions", {"action": "remove"}, format="json").status_code == 404
    assert client.get("/api/moderation/queue/999999").status_code == 404
    res = client.post(
        "/api/moderation/actions", {"action": "hide", "target_type": "post", "target_id": 999999}, format="json"
    )
    assert res.status_code == 404
    assert Reviewable.objects.get(pk=r.pk).status == "pending"


def test_direct_actions_lock_pin_suspend(moderator, make_client):
    post = PostFactory()
    client = make_client(moderator)
    for action in ("lock", "pin"):
        res = client.post(
            "/api/moderation/actions", {"action": action, "target_type": "post", "target_id": post.pk}, format="json"
        )
        assert res.status_code == 200 and res.json()["data"] == {"reviewable_id": None}
    post.refresh_from_db()
    assert post.is_locked and post.is_pinned
    res = client.post(
        "/api/moderation/actions",
        {
            "action": "suspend",
            "target_type": "user",
            "target_id": post.author_id,
            "duration_hours": 48,
            "reason": "cool off",
        },
        format="json",
    )
    assert res.status_code == 200
    assert User.objects.get(pk=post.author_id).is_suspended
    r = flag("post", PostFactory().pk)
    res = client.post(
        "/api/moderation/actions", {"action": "hide", "target_type": "post", "target_id": r.target_id}, format="json"
    )
    assert res.json()["data"]["reviewable_id"] == r.pk
    assert Reviewable.objects.get(pk=r.pk).status == "approved"


def test_watched_words_api(moderator, make_client):
    client = make_client(moderator)
    res = client.post("/api/moderation/watched-words", {"word": "Free  SOL", "action": "block"}, format="json")
    assert res.status_code == 201 and res.json()["data"]["word"] == "free sol"
    assert (
        client.post("/api/moderation/watched-words", {"word": "free sol", "action": "flag"}, format="json").status_code
        == 409
    )
    assert (
        client.post("/api/moderation/watched-words", {"word": "x", "action": "nuke"}, format="json").status_code == 400
    )
    assert [w["word"] for w in client.get("/api/moderation/watched-words").json()["data"]] == ["free sol"]
    ww = WatchedWord.objects.get()
    assert client.delete(f"/api/moderation/watched-words/{ww.pk}").status_code == 204
    assert not WatchedWord.objects.exists()
    assert AuditLogEntry.objects.filter(action="watched_word").count() == 2


def test_schema_documents_the_endpoints(api_client):
    res = api_client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert res.status_code == 200
    paths = res.json()["paths"] if "paths" in res.json() else res.json()["data"]["paths"]
    for p in (
        "/api/reports",
        "/api/moderation/queue",
        "/api/moderation/queue/{id}/actions",
        "/api/moderation/audit-log",
    ):
        assert p in paths


def test_schema_is_valid_openapi(api_client):
    from openapi_spec_validator import validate

    res = api_client.get("/api/schema", HTTP_ACCEPT="application/json")
    schema = res.json()
    validate(schema)
    upload = schema["paths"]["/api/media"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"413", "415"} <= set(upload["responses"])


@pytest.mark.parametrize(
    "action,extra,target_status,review_status",
    [
        ("hide", {}, "hidden", "approved"),
        ("remove", {}, "removed", "approved"),
        ("restore", {}, "published", "rejected"),
        ("approve", {}, "published", "rejected"),
        ("lock", {}, "published", "pending"),
        ("unlock", {}, "published", "pending"),
        ("pin", {}, "published", "pending"),
        ("unpin", {}, "published", "pending"),
        ("warn", {}, "published", "approved"),
        ("suspend", {"duration_hours": 72}, "published", "approved"),
        ("ban", {}, "published", "approved"),
        ("agree", {}, "published", "approved"),
        ("dismiss", {}, "published", "rejected"),
        ("ignore", {}, "published", "ignored"),
    ],
)
def test_every_action_through_the_api(moderator, make_client, action, extra, target_status, review_status):
    post = PostFactory()
    r = flag("post", post.pk)
    res = make_client(moderator).post(
        f"/api/moderation/queue/{r.pk}/actions", {"action": action, "reason": f"why {action}", **extra}, format="json"
    )
    assert res.status_code == 200, res.json()
    data = res.json()["data"]
    assert data["status"] == review_status and data["target"]["status"] == target_status
    entry = AuditLogEntry.objects.get(action=action)
    assert entry.actor == moderator and entry.reason == f"why {action}" and entry.reviewable_id == r.pk
    author = User.objects.get(pk=post.author_id)
    if action == "suspend":
        assert author.is_suspended
    if action == "ban":
        assert author.is_active and author.is_banned  # the one standing model, not a deactivation
    if action in ("lock", "pin"):
        assert data["target"][f"is_{action}ed" if action == "lock" else "is_pinned"] is True


def test_unsuspend_through_a_user_queue_item(moderator, make_client):
    member = UserFactory(suspended_until=timezone.now() + timedelta(days=3))
    r = flag("user", UserFactory().pk)  # any user item; then act on the suspended member directly
    client = make_client(moderator)
    res = client.post(
        "/api/moderation/actions", {"action": "unsuspend", "target_type": "user", "target_id": member.pk}, format="json"
    )
    assert res.status_code == 200
    assert not User.objects.get(pk=member.pk).is_suspended
    res = client.post(f"/api/moderation/queue/{r.pk}/actions", {"action": "hide"}, format="json")
    assert res.status_code == 400  # users cannot be hidden
