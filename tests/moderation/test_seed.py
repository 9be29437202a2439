import io

import pytest

from apps.core.seeding import DemoContext
from apps.moderation.models import Report, Reviewable, WatchedWord
from apps.moderation.seed import DEMO_MODERATOR, make_demo_moderation
from tests.factories import UserFactory
from tests.moderation.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_demo_queue_is_realistic_and_idempotent():
    for i in range(10):
        UserFactory(username=f"demo_user_{i}")
    PostFactory.create_batch(6)
    CommentFactory.create_batch(6)
    ctx = DemoContext(size=20, progress=lambda it, **kw: it, stdout=io.StringIO())
    make_demo_moderation(ctx)
    assert Reviewable.objects.filter(status="pending").count() >= 5
    assert Report.objects.count() >= Reviewable.objects.count()
    assert WatchedWord.objects.count() == 3
    from apps.accounts.models import User

    mod = User.objects.get(username=DEMO_MODERATOR)
    assert mod.is_staff and mod.role == "moderator"
    before = Report.objects.count()
    make_demo_moderation(ctx)
    assert Report.objects.count() == before
