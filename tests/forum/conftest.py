import pytest

from apps.core import events
from apps.forum import events as forum_events
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory


@pytest.fixture
def category(db):
    return CategoryFactory(slug="general", name="General")


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def moderator(db):
    return UserFactory(role="moderator")


@pytest.fixture
def emitted():
    """Every forum domain event dispatched during the test (after commit)."""
    got = []
    types = [
        forum_events.PostCreated, forum_events.PostEdited, forum_events.PostDeleted, forum_events.CommentCreated,
        forum_events.CommentDeleted, forum_events.VoteChanged, forum_events.UserMentioned,
    ]  # fmt: skip
    for t in types:
        events.subscribe(t, got.append)
    yield got
    for t in types:
        events.unsubscribe(t, got.append)


@pytest.fixture
def broadcasts(monkeypatch):
    """(topic, event, data) of every forum broadcast sent (after commit): the `posts`, `category:*`
    and `post:*` topics. Other areas' pushes (a notification on `user:*`) are theirs to test."""
    sent = []

    def record(topic, event, data, **kwargs):
        if topic == "posts" or topic.startswith(("post:", "category:")):
            sent.append((topic, event, data))

    monkeypatch.setattr("apps.core.push.broadcast_now", record)
    return sent
