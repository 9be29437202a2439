"""Reports and actions arriving at the same moment: one queue item, one decision."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.forum.models import Post
from apps.moderation import services
from apps.moderation.models import AuditLogEntry, Report, Reviewable
from tests.factories import UserFactory
from tests.moderation.factories import ModeratorFactory, PostFactory


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_reports_gather_into_one_reviewable():
    post = PostFactory()
    reporters = [UserFactory(date_joined=timezone.now() - timedelta(days=60)) for _ in range(4)]
    results = run_together(
        *[
            (lambda r=r: services.report_create(reporter=r, target_type="post", target_id=post.pk, reason="spam"))
            for r in reporters
        ]
    )
    assert all(not isinstance(r, Exception) for r in results), results
    reviewable = Reviewable.objects.get()
    assert reviewable.report_count == 4
    assert reviewable.score == pytest.approx(sum(Report.objects.values_list("weight", flat=True)))


@pytest.mark.django_db(transaction=True)
def test_same_reporter_twice_at_once_makes_one_report():
    post = PostFactory()
    reporter = UserFactory(date_joined=timezone.now() - timedelta(days=60))
    results = run_together(
        *[
            (lambda: services.report_create(reporter=reporter, target_type="post", target_id=post.pk, reason="spam"))
            for _ in range(2)
        ]
    )
    assert sorted(r.created for r in results) == [False, True]
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_moderators_acting_at_once_one_wins():
    post = PostFactory()
    reviewable = services.report_create(
        reporter=UserFactory(), target_type="post", target_id=post.pk, reason="spam"
    ).report.reviewable
    a, b = ModeratorFactory(), ModeratorFactory()
    results = run_together(
        lambda: services.reviewable_act(reviewable_id=reviewable.pk, actor=a, action="remove"),
        lambda: services.reviewable_act(reviewable_id=reviewable.pk, actor=b, action="dismiss"),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ApplicationError) and errors[0].status == 409
    reviewable.refresh_from_db()
    winner_action = reviewable.resolution
    assert AuditLogEntry.objects.filter(action__in=["remove", "dismiss"]).count() == 1
    expected = "removed" if winner_action == "remove" else "published"
    assert Post.objects.get(pk=post.pk).status == expected
