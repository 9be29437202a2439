"""notify(): templates, consolidation, idempotency, settings, mutes, do-not-disturb, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications import selectors, services
from apps.notifications.models import Notification, NotificationSettings
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_templates_render_title_body_link_and_data(user):
    n = services.notify(user.pk, "level_up", context={"old_level": 2, "new_level": 3})
    assert n.title == "You reached level 3" and n.link == f"/users/{user.pk}"
    assert n.data["new_level"] == 3 and n.expires_at > timezone.now()
    with pytest.raises(ValueError):
        services.notify(user.pk, "no_such_type")


def test_votes_consolidate_into_one_unread_row(user):
    voters = [UserFactory() for _ in range(12)]
    ctx = {"target": "post", "post_id": 5, "post_title": "gm"}
    for voter in voters:
        services.notify(user.pk, "vote", context=ctx, actor_id=voter.pk, group_key="vote:post:5")
    services.notify(user.pk, "vote", context=ctx, actor_id=voters[0].pk, group_key="vote:post:5")  # re-vote
    rows = list(Notification.objects.filter(user=user))
    assert len(rows) == 1
    assert rows[0].count == 12 and rows[0].title == "12 people upvoted your post"
    assert rows[0].actor_ids[0] == voters[-1].pk and len(rows[0].actor_ids) == 12

    # Once read, the next vote starts a new notification.
    services.notifications_mark_read(user=user, all=True)
    services.notify(user.pk, "vote", context=ctx, actor_id=UserFactory().pk, group_key="vote:post:5")
    newest = Notification.objects.filter(user=user, read_at__isnull=True).get()
    assert newest.count == 1 and newest.title.endswith("upvoted your post") and not newest.title.startswith("1 ")


def test_single_vote_title_names_the_actor(user):
    voter = UserFactory(username="kiddo")
    n = services.notify(user.pk, "vote", context={"target": "comment", "post_id": 1}, actor_id=voter.pk, group_key="g")
    assert n.title == "kiddo upvoted your comment"


def test_dedupe_key_makes_retries_no_ops(user):
    assert services.notify(user.pk, "achievement_unlocked", context={"achievement": "First post"}, dedupe_key="a1")
    assert (
        services.notify(user.pk, "achievement_unlocked", context={"achievement": "First post"}, dedupe_key="a1") is None
    )
    assert Notification.objects.filter(user=user).count() == 1


def test_own_actions_do_not_notify(user):
    assert services.notify(user.pk, "mention", actor_id=user.pk) is None


def test_turned_off_types_and_mutes(user):
    actor = UserFactory()
    NotificationSettings.objects.create(user=user, types={"mention": {"in_app": False, "email": False}})
    assert services.notify(user.pk, "mention", actor_id=actor.pk) is None

    SubscriptionFactory(user=user, target_type="user", target_id=actor.pk, level="mute")
    assert services.notify(user.pk, "reply_to_post", actor_id=actor.pk) is None
    other = UserFactory()
    SubscriptionFactory(user=user, target_type="thread", target_id=9, level="mute")
    assert services.notify(user.pk, "reply_to_post", actor_id=other.pk, scope={"thread": 9, "category": 1}) is None
    SubscriptionFactory(user=user, target_type="category", target_id=2, level="mute")
    assert services.notify(user.pk, "reply_to_post", actor_id=other.pk, scope={"thread": 10, "category": 2}) is None
    # A thread you watch inside a muted category still notifies.
    SubscriptionFactory(user=user, target_type="thread", target_id=11, level="watch")
    assert services.notify(user.pk, "reply_to_post", actor_id=other.pk, scope={"thread": 11, "category": 2})
    # Muting never silences your own standing (not content): level ups still arrive.
    assert services.notify(user.pk, "level_up", context={"new_level": 2})


def test_email_only_rows_are_hidden_from_the_list_and_count(user, auth_client):
    NotificationSettings.objects.create(user=user, types={"mention": {"in_app": False, "email": True}})
    n = services.notify(user.pk, "mention", actor_id=UserFactory().pk)
    assert n is not None and not n.in_app and n.email_wanted
    assert auth_client.get("/api/notifications").json()["data"] == []
    assert selectors.unread_count(user.pk) == 0


def test_retention_drops_expired_and_keeps_the_newest_n(user):
    now = timezone.now()
    other = UserFactory()
    for i in range(6):
        NotificationFactory(user=user, created_at=now - timedelta(minutes=i))
    NotificationFactory(user=other, created_at=now)
    expired = NotificationFactory(user=other, created_at=now, expires_at=now - timedelta(seconds=1))
    removed = services.purge_notifications(keep_per_user=4)
    assert removed == 3
    assert Notification.objects.filter(user=user).count() == 4
    assert not Notification.objects.filter(pk=expired.pk).exists()
    kept = Notification.objects.filter(user=user).order_by("-created_at")
    assert min(n.created_at for n in kept) == now - timedelta(minutes=3)


def test_announcement_reaches_every_active_user_once(user):
    others = [UserFactory() for _ in range(3)]
    UserFactory(is_active=False)
    NotificationSettings.objects.create(
        user=others[0], types={"system_announcement": {"in_app": False, "email": False}}
    )
    services.announce(title="Maintenance tonight", body="20:00 UTC", link="/status", key="m1")
    services.announce(title="Maintenance tonight", body="20:00 UTC", link="/status", key="m1")
    rows = Notification.objects.filter(type="system_announcement")
    assert sorted(rows.values_list("user_id", flat=True)) == sorted([user.pk, others[1].pk, others[2].pk])
    assert rows.first().title == "Maintenance tonight"


def test_announce_command(user):
    from django.core.management import call_command

    call_command("notify_announce", "--key", "k1", "--title", "Hello", "--link", "/news")
    call_command("notify_announce", "--key", "k1", "--title", "Hello", "--link", "/news")
    assert Notification.objects.get(user=user, type="system_announcement").link == "/news"
