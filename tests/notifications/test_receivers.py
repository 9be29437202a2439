"""Every event source that has landed (as an event contract) produces its notification, end to
end: emit inside a transaction → receiver on commit → Celery task (eager) → row → real-time push."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from apps.accounts.events import UserSuspended
from apps.core import events
from apps.forum.events import CommentCreated, PostCreated, PostDeleted, UserMentioned, VoteChanged
from apps.gamification.events import AchievementUnlocked, LevelUp
from apps.market.events import MilestoneReached, PriceAlertTriggered
from apps.notifications.models import Notification, Subscription
from apps.wallet.events import HolderTierChanged
from tests.factories import UserFactory
from tests.notifications.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def emit(event):
    with transaction.atomic():
        events.emit(event)


def test_rolled_back_event_notifies_nobody():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(LevelUp(user_id=user.pk, old_level=1, new_level=2))
        raise RuntimeError
    assert not Notification.objects.exists()


def test_gamification_wallet_market_and_moderation_events():
    user = UserFactory()
    emit(LevelUp(user_id=user.pk, old_level=1, new_level=2))
    emit(LevelUp(user_id=user.pk, old_level=1, new_level=2))  # a retried event: once
    emit(AchievementUnlocked(user_id=user.pk, achievement_id=7))
    emit(HolderTierChanged(user_id=user.pk, old_tier="none", new_tier="holder"))
    emit(PriceAlertTriggered(alert_id=3, user_id=user.pk, snapshot_id=11))
    emit(PostDeleted(post_id=5, author_id=user.pk, by_moderator=True))
    emit(PostDeleted(post_id=6, author_id=user.pk, by_moderator=False))  # own deletion: nothing
    emit(UserSuspended(user_id=user.pk, by_user_id=None, until="2030-01-01T00:00:00Z", reason="spam"))
    rows = {n.type: n for n in Notification.objects.filter(user=user)}
    assert Notification.objects.filter(user=user, type="level_up").count() == 1
    assert rows["level_up"].title == "You reached level 2"
    assert rows["achievement_unlocked"].title.startswith("Achievement unlocked")
    assert rows["holder_tier_changed"].title == "Your holder tier is now holder"
    assert rows["price_alert"].data["alert_id"] == 3
    assert Notification.objects.filter(user=user, type="moderation_action").count() == 2


def test_milestone_reaches_everyone_once():
    users = [UserFactory() for _ in range(3)]
    emit(MilestoneReached(milestone_id=4))
    emit(MilestoneReached(milestone_id=4))
    assert Notification.objects.filter(type="market_milestone").count() == len(users)


def test_forum_events_reply_watch_mention_and_votes():
    author, replier, watcher, voter1, voter2 = (UserFactory() for _ in range(5))
    SubscriptionFactory(user=watcher, target_type="category", target_id=3, level="watch")
    emit(PostCreated(post_id=100, author_id=author.pk, category_id=3))
    # The author now watches their own thread; the category watcher heard of the new post.
    assert Subscription.objects.filter(user=author, target_type="thread", target_id=100, level="watch").exists()
    assert Notification.objects.get(user=watcher, type="watched_post").data["post_id"] == 100

    emit(CommentCreated(comment_id=1, post_id=100, author_id=replier.pk, category_id=3))
    emit(CommentCreated(comment_id=2, post_id=100, author_id=watcher.pk, category_id=3))
    # Without the forum's models on this branch the post author is unknown to the reply handler,
    # but auto-watch tells them through the thread (consolidated).
    thread = Notification.objects.get(user=author, type="watched_reply")
    assert thread.count == 2 and thread.title.startswith("2 new replies")

    emit(UserMentioned(mentioned_user_id=watcher.pk, author_id=replier.pk, post_id=100, comment_id=1))
    assert Notification.objects.get(user=watcher, type="mention").link == "/posts/100#comment-1"

    for voter in (voter1, voter2):
        emit(VoteChanged("post", 100, author.pk, voter.pk, 0, 1, 100, 3))
    emit(VoteChanged("post", 100, author.pk, voter1.pk, 1, 0, 100, 3))  # retraction: nothing
    emit(VoteChanged("post", 100, author.pk, voter1.pk, 0, -1, 100, 3))  # downvote: nothing
    vote = Notification.objects.get(user=author, type="vote")
    assert vote.count == 2 and vote.title == "2 people upvoted your post"


def test_muted_thread_silences_watch_and_replies():
    author, replier = UserFactory(), UserFactory()
    emit(PostCreated(post_id=200, author_id=author.pk, category_id=1))
    Subscription.objects.filter(user=author, target_id=200).update(level="mute")
    emit(CommentCreated(comment_id=9, post_id=200, author_id=replier.pk, category_id=1))
    emit(VoteChanged("post", 200, author.pk, replier.pk, 0, 1, 200, 1))
    assert not Notification.objects.filter(user=author).exists()


async def test_notification_is_pushed_on_the_users_topic_with_the_unread_count():
    from tests.realtime.helpers import make_user, next_event, open_socket, subscribe

    user = await make_user()
    comm = await open_socket(user)
    assert (await subscribe(comm, f"user:{user.pk}"))["type"] == "subscribed"
    await sync_to_async(emit)(LevelUp(user_id=user.pk, old_level=4, new_level=5))
    frame = await next_event(comm)
    assert frame["event"] == "notification.created"
    assert frame["data"]["notification"]["title"] == "You reached level 5"
    assert frame["data"]["notification"]["read"] is False
    assert frame["data"]["unread_count"] == 1

    @sync_to_async
    def read_all():
        from apps.core import rls
        from apps.notifications.services import notifications_mark_read

        with rls.user_context(user.pk):  # as the request would, for its signed-in user
            notifications_mark_read(user=user, all=True)

    await read_all()
    frame = await next_event(comm)
    assert frame["event"] == "notification.unread_count" and frame["data"] == {"unread_count": 0}
    await comm.disconnect()


async def test_do_not_disturb_stores_but_does_not_push(settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.core import rls
    from apps.notifications.models import NotificationSettings
    from tests.realtime.helpers import make_user, open_socket, subscribe

    user = await make_user()

    @sync_to_async
    def do_not_disturb():
        # The async test body runs on another thread's connection than the test's system context.
        with rls.user_context(user.pk):
            NotificationSettings.objects.create(
                user=user, dnd_until=timezone.now() + timedelta(hours=1), email_frequency="immediate"
            )

    await do_not_disturb()
    comm = await open_socket(user)
    await subscribe(comm, f"user:{user.pk}")
    await sync_to_async(emit)(LevelUp(user_id=user.pk, old_level=1, new_level=9))
    assert await comm.receive_nothing(timeout=0.3)

    @sync_to_async
    def stored():
        with rls.user_context(user.pk):
            return Notification.objects.filter(user=user).count()

    assert await stored() == 1
    await comm.disconnect()


def test_replies_when_the_forum_models_answer(monkeypatch):
    """With the forum's models present (simulated here: they are built on another branch), the
    post author gets reply_to_post, the parent comment's author reply_to_comment, once each."""
    from apps.notifications import handlers

    author, parent_author, replier = UserFactory(), UserFactory(), UserFactory()
    monkeypatch.setattr(handlers, "post_info", lambda pid: {"post_title": "GM thread", "post_author_id": author.pk})
    comments = {
        7: {"author_id": parent_author.pk, "excerpt": "first"},
        8: {"author_id": replier.pk, "excerpt": "wagmi"},
    }
    monkeypatch.setattr(handlers, "comment_info", lambda cid: comments.get(cid, {}))
    emit(CommentCreated(comment_id=8, post_id=300, author_id=replier.pk, category_id=1, parent_id=7))
    emit(CommentCreated(comment_id=8, post_id=300, author_id=replier.pk, category_id=1, parent_id=7))  # retried
    to_author = Notification.objects.get(user=author, type="reply_to_post")
    assert to_author.title == f"{replier.username} replied to your post GM thread"
    assert to_author.body == "wagmi" and to_author.link == "/posts/300#comment-8"
    assert Notification.objects.get(user=parent_author, type="reply_to_comment").data["parent_id"] == 7
    assert not Notification.objects.filter(user=replier).exists()


def test_moderation_actions_tell_the_author_once():
    from apps.moderation.events import ContentModerated

    author, mod = UserFactory(), UserFactory()
    # A removal arrives twice (moderation's event and the forum's PostDeleted): one notice.
    emit(
        ContentModerated(
            target_type="post",
            target_id=41,
            author_id=author.pk,
            action="remove",
            reason="scam link",
            moderator_id=mod.pk,
            post_id=41,
        )
    )
    emit(PostDeleted(post_id=41, author_id=author.pk, by_moderator=True))
    emit(
        ContentModerated(
            target_type="comment",
            target_id=9,
            author_id=author.pk,
            action="hide",
            reason="off-topic",
            moderator_id=mod.pk,
            post_id=41,
        )
    )
    emit(
        ContentModerated(target_type="post", target_id=41, author_id=author.pk, action="claim", moderator_id=mod.pk)
    )  # bookkeeping
    notices = list(Notification.objects.filter(user=author, type="moderation_action").order_by("id"))
    assert len(notices) == 2
    assert "removed your post" in notices[0].body + notices[0].title
    assert "hid your comment" in notices[1].body + notices[1].title
    assert not Notification.objects.filter(user=mod).exists()


def test_watchers_who_may_no_longer_read_hear_nothing():
    """Access can shrink after someone subscribed (a category turned staff-only, a post hidden):
    from then on neither new posts nor replies reach them; moderators still hear of both."""
    from tests.forum.factories import CategoryFactory, PostFactory

    author, replier, watcher = UserFactory(), UserFactory(), UserFactory()
    moderator = UserFactory(role="moderator")
    category = CategoryFactory(read_access="moderator")
    post = PostFactory(author=author, category=category)
    for who in (watcher, moderator):
        SubscriptionFactory(user=who, target_type="category", target_id=category.pk, level="watch")
    emit(PostCreated(post_id=post.pk, author_id=author.pk, category_id=category.pk))
    assert not Notification.objects.filter(user=watcher).exists()
    assert Notification.objects.get(user=moderator, type="watched_post").data["post_id"] == post.pk

    open_category = CategoryFactory()
    hidden = PostFactory(author=author, category=open_category, status="hidden")
    for who in (watcher, moderator):
        SubscriptionFactory(user=who, target_type="thread", target_id=hidden.pk, level="watch")
    emit(CommentCreated(comment_id=77, post_id=hidden.pk, author_id=replier.pk, category_id=open_category.pk))
    assert not Notification.objects.filter(user=watcher).exists()
    assert Notification.objects.filter(user=moderator, type="watched_reply").count() == 1
    # its author still sees their hidden post, and so still hears of replies to it
    assert Notification.objects.filter(user=author, type="reply_to_post").count() == 1
