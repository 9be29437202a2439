import pytest

from apps.core import events
from apps.forum.events import CommentDeleted, PostDeleted
from apps.moderation import services
from apps.moderation.models import Report, ReporterStats, Reviewable
from tests.factories import UserFactory
from tests.moderation.factories import CommentFactory, ModeratorFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_author_deleting_closes_the_queue_item(django_capture_on_commit_callbacks):
    post, comment = PostFactory(), CommentFactory()
    for target_type, target in (("post", post), ("comment", comment)):
        services.report_create(reporter=UserFactory(), target_type=target_type, target_id=target.pk, reason="spam")
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(PostDeleted(post_id=post.pk, author_id=post.author_id))
        events.emit(CommentDeleted(comment_id=comment.pk, post_id=comment.post_id, author_id=comment.author_id))
    assert set(Reviewable.objects.values_list("status", "resolution")) == {("ignored", "author_deleted")}
    assert set(Report.objects.values_list("status", flat=True)) == {"ignored"}
    assert not ReporterStats.objects.exists()


def test_moderator_removal_event_does_not_close_twice(django_capture_on_commit_callbacks):
    post = PostFactory()
    r = services.report_create(
        reporter=UserFactory(), target_type="post", target_id=post.pk, reason="spam"
    ).report.reviewable
    with django_capture_on_commit_callbacks(execute=True):
        services.reviewable_act(reviewable_id=r.pk, actor=ModeratorFactory(), action="remove")
    r.refresh_from_db()
    assert r.status == "approved" and r.resolution == "remove"
