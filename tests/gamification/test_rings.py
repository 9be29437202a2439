"""Nightly vote-ring detection on a constructed ring."""

import pytest

from apps.core.events import DomainEvent, dispatch, subscribe, unsubscribe
from apps.forum.events import VoteChanged
from apps.gamification import jobs, tasks
from apps.gamification.events import VoteRingDetected
from apps.gamification.models import PointTransaction, VoteRingReport
from tests.gamification.factories import VeteranFactory

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10_000))


def upvote(voter, author, n):
    for _ in range(n):
        dispatch(
            VoteChanged(
                target_type="post",
                target_id=next(_ids),
                target_author_id=author.id,
                voter_id=voter.id,
                old_value=0,
                new_value=1,
                post_id=1,
                category_id=1,
            )
        )


def vote_points(user) -> int:
    return sum(PointTransaction.objects.filter(user=user, activity="post_upvoted").values_list("amount", flat=True))


def test_ring_is_reversed_and_reported_baseline_is_not(django_capture_on_commit_callbacks):
    a, b, c = VeteranFactory.create_batch(3)  # a three-way ring a -> b -> c -> a
    fan, star = VeteranFactory(), VeteranFactory()  # one-way heavy voting is not a ring
    normal = VeteranFactory.create_batch(6)
    upvote(a, b, 6)
    upvote(b, c, 6)
    upvote(c, a, 6)
    upvote(fan, star, 8)
    for i, v in enumerate(normal):  # ordinary members vote around
        upvote(v, normal[(i + 1) % 6], 2)
        upvote(v, normal[(i + 2) % 6], 2)
        upvote(v, star, 1)
    assert vote_points(a) > 0 and vote_points(star) > 0
    got: list[DomainEvent] = []
    subscribe(VoteRingDetected, got.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.detect_vote_rings.delay().get() == 1
        jobs.detect_vote_rings()  # a second run the same night changes nothing
    finally:
        unsubscribe(VoteRingDetected, got.append)
    report = VoteRingReport.objects.get()
    assert report.members == sorted([a.id, b.id, c.id])
    assert sorted(tuple(e[:2]) for e in report.edges) == sorted([(a.id, b.id), (b.id, c.id), (c.id, a.id)])
    assert report.reversed_transactions == 15 and report.status == "open"
    assert [e.report_id for e in got] == [report.id]
    for member in (a, b, c):
        assert vote_points(member) == 0
        member.profile.refresh_from_db()
        assert member.profile.points == sum(
            PointTransaction.objects.filter(user=member).values_list("amount", flat=True)
        )
    assert vote_points(star) > 0 and all(vote_points(v) > 0 for v in normal)
    assert not PointTransaction.objects.filter(user__in=normal + [star], kind="reversal").exists()


def test_mutual_pair_detected():
    a, b = VeteranFactory.create_batch(2)
    upvote(a, b, 5)
    upvote(b, a, 5)
    reports = jobs.detect_vote_rings()
    assert [r.members for r in reports] == [sorted([a.id, b.id])]
