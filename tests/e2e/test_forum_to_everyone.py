"""Cross-area flows through the public API: a forum write reaches notifications, gamification
and search through events after commit, with the real models of every area."""

import pytest
from django.core.management import call_command

from apps.gamification.models import PointTransaction
from apps.notifications.models import Notification
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_notifies_the_author_awards_points_and_is_searchable(make_client):
    call_command("seed")  # the reference data `make run` loads: categories, activities, levels...
    category = CategoryFactory(slug="e2e-general")
    author, replier, commenter = UserFactory(), UserFactory(), UserFactory()
    r = make_client(author).post(
        "/api/posts",
        {"title": "Diamond hands thread", "body": "Holding $SKID since launch", "category": category.slug},
        format="json",
    )
    assert r.status_code == 201, r.content
    post_id = r.json()["data"]["id"]

    first = make_client(commenter).post(f"/api/posts/{post_id}/comments", {"body": "first!"}, format="json")
    assert first.status_code == 201, first.content
    reply = make_client(replier).post(
        f"/api/posts/{post_id}/comments", {"body": "wagmi", "parent_id": first.json()["data"]["id"]}, format="json"
    )
    assert reply.status_code == 201, reply.content

    # Notifications: the post author and the parent comment's author hear about the reply, with the
    # real post title read from the forum's tables.
    to_author = Notification.objects.filter(user=author, type="reply_to_post")
    assert to_author.count() == 2
    assert all("Diamond hands thread" in n.title for n in to_author)
    assert Notification.objects.filter(user=commenter, type="reply_to_comment").count() == 1
    unread = make_client(author).get("/api/notifications/unread-count").json()["data"]
    kinds = sorted(Notification.objects.filter(user=author, read_at__isnull=True).values_list("type", flat=True))
    assert unread["unread_count"] == len(kinds), kinds

    # Gamification: the post and the comments earned their authors points, once each.
    assert PointTransaction.objects.filter(user=author, activity="post_created").count() == 1
    assert PointTransaction.objects.filter(user=replier, activity="comment_created").count() == 1
    earned = sum(PointTransaction.objects.filter(user=author).values_list("amount", flat=True))
    assert earned > 0
    assert make_client(author).get(f"/api/users/{author.pk}").json()["data"]["points"] == earned

    # Search: the post is findable by its ticker at once (index kept in the same transaction).
    hits = make_client(replier).get("/api/search?q=%24SKID").json()
    assert [h["id"] for h in hits["data"] if h.get("type", "post") == "post"][:1] == [post_id]

    # A vote from another member raises the post's score and tells the author.
    vote = make_client(replier).post(f"/api/posts/{post_id}/vote", {"value": 1}, format="json")
    assert vote.status_code == 200 and vote.json()["data"]["score"] == 1
