import pytest

from apps.core import events
from apps.moderation.events import ContentModerated, ReportCreated, ReviewableResolved
from tests.moderation.factories import ModeratorFactory


@pytest.fixture
def moderator(db):
    return ModeratorFactory()


@pytest.fixture
def captured():
    """Every moderation event delivered (after commit), in order."""
    got = []
    types = (ContentModerated, ReportCreated, ReviewableResolved)
    for t in types:
        events.subscribe(t, got.append)
    yield got
    for t in types:
        events.unsubscribe(t, got.append)


@pytest.fixture(autouse=True)
def _fresh_watched_words():
    from apps.moderation.spam import invalidate_watched_words

    invalidate_watched_words()
    yield
    invalidate_watched_words()
