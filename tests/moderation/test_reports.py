"""POST /api/reports: validation, visibility, idempotent repeats, rate limits, the reviewable."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum.models import ContentStatus, ReadAccess
from apps.moderation.events import ReportCreated
from apps.moderation.models import Report, Reviewable
from tests.factories import UserFactory
from tests.moderation.factories import CategoryFactory, CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def old_user(**kwargs):
    return UserFactory(date_joined=timezone.now() - timedelta(days=60), **kwargs)


def report(client, target_type, target_id, reason="spam", note=""):
    return client.post(
        "/api/reports",
        {"target_type": target_type, "target_id": target_id, "reason": reason, "note": note},
        format="json",
    )


def test_report_a_post_creates_report_and_reviewable(make_client, django_capture_on_commit_callbacks, captured):
    post = PostFactory()
    reporter = old_user()
    with django_capture_on_commit_callbacks(execute=True):
        res = report(make_client(reporter), "post", post.pk, "scam", "fake airdrop link")
    assert res.status_code == 201, res.json()
    body = res.json()["data"]
    assert body["reason"] == "scam" and body["status"] == "open" and body["target_id"] == post.pk
    reviewable = Reviewable.objects.get(target_type="post", target_id=post.pk)
    assert reviewable.status == "pending" and reviewable.report_count == 1
    assert reviewable.target_user_id == post.author_id and reviewable.category_id == post.category_id
    assert reviewable.score == pytest.approx(Report.objects.get().weight)
    assert reviewable.reasons == ["scam"]
    assert [type(e) for e in captured] == [ReportCreated]


def test_comment_and_user_reports_gather_per_item(make_client):
    comment = CommentFactory()
    target_user = UserFactory()
    a, b = old_user(), old_user()
    for reporter in (a, b):
        assert report(make_client(reporter), "comment", comment.pk, "abuse").status_code == 201
        assert report(make_client(reporter), "user", target_user.pk, "spam").status_code == 201
    assert Reviewable.objects.count() == 2
    rc = Reviewable.objects.get(target_type="comment")
    assert rc.report_count == 2 and rc.post_id_ref == comment.post_id
    ru = Reviewable.objects.get(target_type="user")
    assert ru.target_user_id == target_user.pk and ru.report_count == 2


def test_repeat_report_is_idempotent_200(make_client):
    post = PostFactory()
    client = make_client(old_user())
    first = report(client, "post", post.pk)
    again = report(client, "post", post.pk, "abuse")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert Report.objects.count() == 1
    assert Reviewable.objects.get().report_count == 1


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"target_type": "wallet", "target_id": 1, "reason": "spam"}, "target_type"),
        ({"target_type": "post", "target_id": "x", "reason": "spam"}, "target_id"),
        ({"target_type": "post", "target_id": 1, "reason": "ugly"}, "reason"),
        ({"target_type": "post", "target_id": 1, "reason": "spam", "note": "x" * 1001}, "note"),
        ({"target_type": "post", "reason": "spam"}, "target_id"),
    ],
)
def test_bad_input_is_400(auth_client, payload, field):
    res = auth_client.post("/api/reports", payload, format="json")
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "validation_error"
    assert field in res.json()["error"]["details"]


def test_anonymous_is_401(api_client):
    post = PostFactory()
    assert report(api_client, "post", post.pk).status_code == 401


def test_missing_or_invisible_targets_are_404(make_client):
    client = make_client(old_user())
    assert report(client, "post", 999999).status_code == 404
    hidden = PostFactory(status=ContentStatus.HIDDEN)
    assert report(client, "post", hidden.pk).status_code == 404
    staff_only = PostFactory(category=CategoryFactory(read_access=ReadAccess.MODERATOR))
    assert report(client, "post", staff_only.pk).status_code == 404
    banned = UserFactory(is_active=False)
    assert report(client, "user", banned.pk).status_code == 404
    assert Report.objects.count() == 0


def test_cannot_report_own_content(make_client):
    post = PostFactory()
    res = report(make_client(post.author), "post", post.pk)
    assert res.status_code == 400
    res = report(make_client(post.author), "user", post.author_id)
    assert res.status_code == 400


def test_reporters_are_rate_limited(make_client, settings):
    settings.MODERATION_REPORTS_PER_HOUR = 3
    client = make_client(old_user())
    posts = PostFactory.create_batch(4)
    for post in posts[:3]:
        assert report(client, "post", post.pk).status_code == 201
    res = report(client, "post", posts[3].pk)
    assert res.status_code == 429
    assert res.json()["error"]["code"] == "rate_limited"
    assert 0 < int(res["Retry-After"]) <= 3600
    # A repeat of an existing open report is still answered (idempotent, not a new report).
    assert report(client, "post", posts[0].pk).status_code == 200


def test_new_accounts_get_the_lower_report_limit(make_client, settings):
    settings.MODERATION_NEW_USER_REPORTS_PER_HOUR = 1
    client = make_client(UserFactory())  # joined just now
    a, b = PostFactory.create_batch(2)
    assert report(client, "post", a.pk).status_code == 201
    assert report(client, "post", b.pk).status_code == 429
