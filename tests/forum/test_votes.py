"""Votes: one per user per item, change and retract, no self-votes, history, exact under concurrency."""

import threading

import pytest
from django.db import close_old_connections

from apps.forum import events as ev
from apps.forum import ranking
from apps.forum.models import Comment, Post, Vote
from apps.forum.services import vote_post
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, CommentFactory, PostFactory


@pytest.fixture
def post(category):
    return PostFactory(category=category)


def vote(client, path, value):
    return client.post(path, {"value": value}, format="json")


@pytest.mark.django_db
def test_vote_change_retract(auth_client, user, post, emitted, broadcasts, django_capture_on_commit_callbacks):
    path = f"/api/posts/{post.id}/vote"
    with django_capture_on_commit_callbacks(execute=True):
        r = vote(auth_client, path, 1)
        assert r.status_code == 200 and r.json()["data"] == {"score": 1, "upvotes": 1, "downvotes": 0, "my_vote": 1}
        assert vote(auth_client, path, 1).json()["data"]["score"] == 1  # same vote again: no change
        assert vote(auth_client, path, -1).json()["data"] == {"score": -1, "upvotes": 0, "downvotes": 1, "my_vote": -1}
        assert vote(auth_client, path, 0).json()["data"] == {"score": 0, "upvotes": 0, "downvotes": 0, "my_vote": 0}
    assert Vote.objects.count() == 0
    changes = [(e.old_value, e.new_value) for e in emitted if isinstance(e, ev.VoteChanged)]
    assert changes == [(0, 1), (1, -1), (-1, 0)]
    assert emitted[0].target_author_id == post.author_id and emitted[0].category_id == post.category_id
    assert [(t, e) for t, e, _ in broadcasts] == [(f"post:{post.id}", "vote.changed")] * 3
    assert broadcasts[1][2] == {"target_type": "post", "target_id": post.id, "score": -1, "upvotes": 0, "downvotes": 1}
    assert auth_client.get(f"/api/posts/{post.id}").json()["data"]["my_vote"] == 0


@pytest.mark.django_db
def test_vote_updates_stored_rankings(auth_client, post):
    vote(auth_client, f"/api/posts/{post.id}/vote", 1)
    post.refresh_from_db()
    assert post.hot_rank == pytest.approx(ranking.hot(1, post.created_at), rel=1e-3)
    c = CommentFactory(post=post)
    vote(auth_client, f"/api/comments/{c.id}/vote", 1)
    c.refresh_from_db()
    assert c.score == 1 and c.best_rank == pytest.approx(ranking.wilson(1, 0))


@pytest.mark.django_db
@pytest.mark.parametrize("value", [2, -2, "up", None, 1.5, True])
def test_bad_vote_values(auth_client, post, value):
    r = vote(auth_client, f"/api/posts/{post.id}/vote", value)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert Vote.objects.count() == 0


@pytest.mark.django_db
def test_no_self_votes_no_anonymous_no_deleted(make_client, api_client, post, category):
    assert vote(make_client(post.author), f"/api/posts/{post.id}/vote", 1).status_code == 403
    assert vote(api_client, f"/api/posts/{post.id}/vote", 1).status_code == 401
    gone = PostFactory(category=category, status="deleted")
    r = vote(make_client(UserFactory()), f"/api/posts/{gone.id}/vote", 1)
    assert r.status_code == 400
    dead = CommentFactory(post=post, status="deleted")
    assert vote(make_client(UserFactory()), f"/api/comments/{dead.id}/vote", 1).status_code == 400
    hidden = PostFactory(category=category, status="hidden")
    assert vote(make_client(UserFactory()), f"/api/posts/{hidden.id}/vote", 1).status_code == 404
    secret = PostFactory(category=CategoryFactory(slug="whales", read_min_tier="whale"))
    assert vote(make_client(UserFactory()), f"/api/posts/{secret.id}/vote", 1).status_code == 404
    assert vote(make_client(UserFactory()), "/api/posts/999999/vote", 1).status_code == 404
    assert Vote.objects.count() == 0


@pytest.mark.django_db
def test_comment_votes_and_history(auth_client, user, post):
    c = CommentFactory(post=post)
    r = vote(auth_client, f"/api/comments/{c.id}/vote", -1)
    assert r.json()["data"] == {"score": -1, "upvotes": 0, "downvotes": 1, "my_vote": -1}
    vote(auth_client, f"/api/posts/{post.id}/vote", 1)
    assert auth_client.get(f"/api/posts/{post.id}/comments").json()["data"][0]["my_vote"] == -1
    hist = auth_client.get("/api/votes").json()
    assert [(h["target_type"], h["target_id"], h["value"]) for h in hist["data"]] == [
        ("post", post.id, 1),
        ("comment", c.id, -1),
    ]
    assert hist["meta"]["pagination"]["next_cursor"] is None
    assert vote(make_client_for(c.author), f"/api/comments/{c.id}/vote", 1).status_code == 403


def make_client_for(user):
    from rest_framework.test import APIClient

    from apps.accounts.tokens import issue_token_pair

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(user)['access']}")
    return client


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_give_the_exact_score():
    """Many users vote on one post (and one comment) at the same moment from separate threads and
    database connections; counters must equal the rows, with no lost update."""
    post = PostFactory(category=CategoryFactory(slug="general"))
    comment = CommentFactory(post=post)
    voters = [UserFactory() for _ in range(24)]
    values = [1 if i % 3 else -1 for i in range(len(voters))]
    barrier = threading.Barrier(len(voters))
    errors = []

    def run(user, value):
        try:
            barrier.wait()
            vote_post(user=user, post_id=post.id, value=value)
            from apps.forum.services import vote_comment

            vote_comment(user=user, comment_id=comment.id, value=-value)
            vote_post(user=user, post_id=post.id, value=value)  # repeat: idempotent
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(u, v)) for u, v in zip(voters, values, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    post.refresh_from_db()
    up, down = values.count(1), values.count(-1)
    assert (post.upvotes, post.downvotes, post.score) == (up, down, up - down)
    assert Vote.objects.filter(post=post, comment__isnull=True).count() == len(voters)
    comment = Comment.objects.get(pk=comment.pk)
    assert (comment.upvotes, comment.downvotes) == (down, up)
    assert Post.objects.get(pk=post.pk).controversy == pytest.approx(ranking.controversy(up, down))


@pytest.mark.django_db(transaction=True)
def test_one_user_racing_themselves_keeps_one_vote():
    post = PostFactory(category=CategoryFactory(slug="general"))
    voter = UserFactory()
    barrier = threading.Barrier(8)

    def run(value):
        barrier.wait()
        try:
            vote_post(user=voter, post_id=post.id, value=value)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(1 if i % 2 else -1,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    post.refresh_from_db()
    rows = list(Vote.objects.filter(post=post).values_list("value", flat=True))
    assert len(rows) == 1
    assert (post.upvotes, post.downvotes) == ((1, 0) if rows[0] == 1 else (0, 1))
