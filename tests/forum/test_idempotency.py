"""Idempotency-Key on the POSTs that create things (apps.core.idempotency), through the API."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core import idempotency
from apps.core.models import IdempotencyKey
from apps.forum import events as ev
from apps.forum.models import Comment, Post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = {"title": "Success Kid to the moon", "body": "Fist clenched", "category": "general"}


def post(client, key, **overrides):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/posts", {**BODY, **overrides}, format="json", **headers)


def test_a_retry_with_the_same_key_replays_the_first_answer(
    auth_client, category, emitted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(auth_client, "retry-1")
    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first
    with django_capture_on_commit_callbacks(execute=True):
        again = post(auth_client, "retry-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Post.objects.count() == 1
    assert [type(e) for e in emitted] == [ev.PostCreated]  # nothing ran a second time


def test_the_same_key_for_a_different_request_is_a_conflict(auth_client, category):
    assert post(auth_client, "k").status_code == 201
    r = post(auth_client, "k", title="Another post")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict" and "Idempotency-Key" in r.json()["error"]["details"]
    assert Post.objects.count() == 1


def test_new_keys_and_no_key_create_every_time(auth_client, category):
    # Different content each time: the spam filter refuses the same post twice (409) by itself.
    for n, key in enumerate(["a", "b", None]):
        r = post(auth_client, key, title=f"Post number {n}", body=f"Body {n}")
        assert r.status_code == 201 and "Idempotent-Replayed" not in r
    assert Post.objects.count() == 3


def test_keys_belong_to_their_user(auth_client, category, make_client):
    other = make_client(UserFactory())
    assert post(auth_client, "shared").status_code == 201
    r = post(other, "shared")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r
    assert Post.objects.count() == 2


def test_a_failed_attempt_leaves_no_key(auth_client, category):
    bad = post(auth_client, "fix-and-retry", title="")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="fix-and-retry").exists()
    good = post(auth_client, "fix-and-retry")
    assert good.status_code == 201 and "Idempotent-Replayed" not in good


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_a_malformed_key_is_a_validation_error(auth_client, category, key):
    r = post(auth_client, key)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"
    assert Post.objects.count() == 0


def test_comments_replay_too(auth_client, category):
    created = post(auth_client, None).json()["data"]
    url = f"/api/posts/{created['id']}/comments"
    first = auth_client.post(url, {"body": "gm"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    again = auth_client.post(url, {"body": "gm"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert Comment.objects.filter(post_id=created["id"]).count() == 1


def test_old_keys_are_purged(auth_client, user, category):
    assert post(auth_client, "old", title="Old one", body="old").status_code == 201
    assert post(auth_client, "new", title="New one", body="new").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency.purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    again = post(auth_client, "old", title="Old key, new post", body="again")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again  # a new request now
    assert Post.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_attempts_at_once_create_one_post(category):
    user = UserFactory()
    results: list = []
    barrier = threading.Barrier(2)

    def attempt():
        client = APIClient()
        client.force_authenticate(user=None)
        from apps.accounts.tokens import issue_token_pair

        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(user)['access']}")
        barrier.wait()
        try:
            r = post(client, "same-moment")
            results.append((r.status_code, r.json()["data"]["id"], r.get("Idempotent-Replayed")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2
    assert {status for status, _, _ in results} == {201}
    assert len({post_id for _, post_id, _ in results}) == 1
    assert sorted(str(replayed) for _, _, replayed in results) == ["None", "true"]
    assert Post.objects.count() == 1
