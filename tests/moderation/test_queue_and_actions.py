"""The queue: trust-weighted scores, auto-hide, claims, every action through services and the API,
and the audit rows and events each one leaves."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.events import UserSuspended
from apps.accounts.models import User
from apps.core import events
from apps.forum.events import CommentDeleted, PostDeleted
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation import services
from apps.moderation.events import ContentModerated, ReviewableResolved
from apps.moderation.models import AuditLogEntry, Report, ReporterStats, Reviewable
from apps.moderation.scoring import accuracy_bonus, reporter_weight
from tests.factories import UserFactory
from tests.moderation.factories import AdminFactory, CommentFactory, ModeratorFactory, PostFactory

pytestmark = pytest.mark.django_db


def reporter(**kw):
    return UserFactory(date_joined=timezone.now() - timedelta(days=60), **kw)


def flag(target, *, by=None, reason="spam", target_type=None):
    target_type = target_type or (
        "post" if isinstance(target, Post) else "comment" if isinstance(target, Comment) else "user"
    )
    return services.report_create(
        reporter=by or reporter(), target_type=target_type, target_id=target.pk, reason=reason
    ).report.reviewable


@pytest.fixture
def forum_events():
    got = []
    for t in (PostDeleted, CommentDeleted, UserSuspended):
        events.subscribe(t, got.append)
    yield got
    for t in (PostDeleted, CommentDeleted, UserSuspended):
        events.unsubscribe(t, got.append)


# --- scoring ---------------------------------------------------------------------------------


def test_accuracy_moves_weight_both_ways():
    assert accuracy_bonus(0, 0) == 0
    assert accuracy_bonus(10, 0) > accuracy_bonus(2, 0) > 0
    assert accuracy_bonus(0, 10) < accuracy_bonus(0, 2) < 0


def test_agreed_flags_raise_and_rejected_flags_lower_a_reporters_weight(moderator):
    good, bad = reporter(), reporter()
    start = reporter_weight(good)
    assert reporter_weight(bad) == start
    for _ in range(3):
        r = flag(PostFactory(), by=good)
        services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="remove")
        r = flag(PostFactory(), by=bad)
        services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="dismiss")
    assert ReporterStats.objects.get(user=good).agreed == 3
    assert ReporterStats.objects.get(user=bad).rejected == 3
    assert reporter_weight(good) > start > reporter_weight(bad)
    # The next report of each carries its new weight into the score.
    post = PostFactory()
    flag(post, by=good)
    r = flag(post, by=bad)
    weights = sorted(Report.objects.filter(reviewable=r).values_list("weight", flat=True))
    assert r.score == pytest.approx(sum(weights))
    assert weights[0] < 1.0 < weights[1]


def test_new_unverified_reporter_weighs_less_than_established_one():
    fresh = UserFactory(email_verified=False)
    assert reporter_weight(fresh) < reporter_weight(reporter())


# --- auto-hide -------------------------------------------------------------------------------


def test_score_past_threshold_hides_post_pending_review(
    settings, django_capture_on_commit_callbacks, captured, forum_events
):
    settings.MODERATION_AUTO_HIDE_SCORE = 3.0
    post = PostFactory()
    with django_capture_on_commit_callbacks(execute=True):
        flag(post)
        flag(post)
        post.refresh_from_db()
        assert post.status == ContentStatus.PUBLISHED  # 2 × ~1.3 < 3
        r = flag(post)
    post.refresh_from_db()
    assert post.status == ContentStatus.HIDDEN
    assert r.auto_hidden and r.status == "pending"
    entry = AuditLogEntry.objects.get(action="auto_hide")
    assert entry.actor is None and entry.before["status"] == "published" and entry.after["status"] == "hidden"
    assert any(
        isinstance(e, ContentModerated) and e.action == "auto_hide" and e.author_id == post.author_id for e in captured
    )
    # Hidden pending review is not a deletion (the forum emits PostDeleted for removals only).
    assert PostDeleted(post_id=post.pk, author_id=post.author_id, by_moderator=True) not in forum_events


def test_moderator_report_hides_at_once(moderator):
    comment = CommentFactory()
    Post.objects.filter(pk=comment.post_id).update(comment_count=1)
    flag(comment, by=moderator)
    comment.refresh_from_db()
    assert comment.status == ContentStatus.HIDDEN
    assert Post.objects.get(pk=comment.post_id).comment_count == 0


def test_auto_hide_disabled_with_zero(settings, moderator):
    settings.MODERATION_AUTO_HIDE_SCORE = 0
    post = PostFactory()
    flag(post, by=moderator)
    post.refresh_from_db()
    assert post.status == ContentStatus.PUBLISHED


def test_dismissing_an_auto_hidden_item_restores_it_and_lowers_reporters(moderator):
    post = PostFactory()
    r = flag(post, by=ModeratorFactory())
    assert Post.objects.get(pk=post.pk).status == ContentStatus.HIDDEN
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="dismiss", reason="fine")
    assert Post.objects.get(pk=post.pk).status == ContentStatus.PUBLISHED
    r.refresh_from_db()
    assert r.status == "rejected" and r.resolution == "dismiss" and r.resolved_by == moderator
    assert set(Report.objects.values_list("status", flat=True)) == {"rejected"}


# --- actions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action,status,review_status",
    [("hide", "hidden", "approved"), ("remove", "removed", "approved"), ("restore", "published", "rejected")],
)
def test_status_actions_on_a_post(
    moderator, action, status, review_status, django_capture_on_commit_callbacks, captured
):
    post = PostFactory()
    r = flag(post)
    with django_capture_on_commit_callbacks(execute=True):
        services.reviewable_act(reviewable_id=r.pk, actor=moderator, action=action, reason="rule 3")
    post.refresh_from_db()
    assert post.status == status
    if action != "restore":
        assert post.status_changed_by == moderator and post.status_reason == "rule 3"
    r.refresh_from_db()
    assert r.status == review_status
    entry = AuditLogEntry.objects.get(action=action)
    assert entry.actor == moderator and entry.reviewable == r and entry.reason == "rule 3"
    assert entry.target_type == "post" and entry.target_id == post.pk and entry.target_user_id == post.author_id
    assert entry.before == {"status": "published", "is_locked": False, "is_pinned": False}
    assert entry.after["status"] == status
    moderated = [e for e in captured if isinstance(e, ContentModerated)]
    assert moderated == [
        ContentModerated(
            target_type="post",
            target_id=post.pk,
            author_id=post.author_id,
            action=action,
            reason="rule 3",
            moderator_id=moderator.pk,
            post_id=post.pk,
        )
    ]
    resolved = [e for e in captured if isinstance(e, ReviewableResolved)]
    assert resolved[0].status == review_status and len(resolved[0].reporter_ids) == 1


def test_restore_brings_removed_comment_back(moderator):
    comment = CommentFactory(status=ContentStatus.REMOVED)
    services.moderate(actor=moderator, action="restore", target_type="comment", target_id=comment.pk)
    comment.refresh_from_db()
    assert comment.status == ContentStatus.PUBLISHED
    assert Post.objects.get(pk=comment.post_id).comment_count == 1


def test_lock_and_pin_do_not_resolve(moderator):
    post = PostFactory()
    r = flag(post)
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="lock")
    services.moderate(actor=moderator, action="pin", target_type="post", target_id=post.pk)
    post.refresh_from_db()
    assert post.is_locked and post.is_pinned
    r.refresh_from_db()
    assert r.status == "pending"
    services.moderate(actor=moderator, action="unlock", target_type="post", target_id=post.pk)
    services.moderate(actor=moderator, action="unpin", target_type="post", target_id=post.pk)
    post.refresh_from_db()
    assert not post.is_locked and not post.is_pinned
    assert list(AuditLogEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "lock",
        "pin",
        "unlock",
        "unpin",
    ]
    lock = AuditLogEntry.objects.get(action="lock")
    assert lock.before["is_locked"] is False and lock.after["is_locked"] is True


def test_warn_notifies_author(moderator, django_capture_on_commit_callbacks, captured):
    comment = CommentFactory()
    r = flag(comment)
    with django_capture_on_commit_callbacks(execute=True):
        services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="warn", reason="be nice")
    (event,) = [e for e in captured if isinstance(e, ContentModerated)]
    assert event.action == "warn" and event.target_type == "user" and event.author_id == comment.author_id
    entry = AuditLogEntry.objects.get(action="warn")
    assert entry.after["via"] == {"target_type": "comment", "target_id": comment.pk}
    r.refresh_from_db()
    assert r.status == "approved"


def test_suspend_kills_tokens_at_once(moderator, make_client, django_capture_on_commit_callbacks, forum_events):
    post = PostFactory()
    author_client = make_client(post.author)
    assert author_client.post(
        "/api/reports", {"target_type": "user", "target_id": moderator.pk, "reason": "other"}, format="json"
    ).status_code in (201, 400)
    r = flag(post)
    with django_capture_on_commit_callbacks(execute=True):
        services.reviewable_act(
            reviewable_id=r.pk, actor=moderator, action="suspend", reason="spam run", duration=timedelta(days=3)
        )
    author = User.objects.get(pk=post.author_id)
    assert author.is_suspended and author.suspension_reason == "spam run"
    assert timezone.now() + timedelta(days=2) < author.suspended_until < timezone.now() + timedelta(days=4)
    res = author_client.post(
        "/api/reports", {"target_type": "post", "target_id": PostFactory().pk, "reason": "spam"}, format="json"
    )
    assert res.status_code == 401 and res.json()["error"]["code"] == "token_invalid"
    (suspended,) = [e for e in forum_events if isinstance(e, UserSuspended)]
    assert suspended.user_id == author.pk and suspended.by_user_id == moderator.pk and suspended.until.endswith("Z")
    entry = AuditLogEntry.objects.get(action="suspend")
    assert entry.target_type == "user" and entry.target_id == author.pk
    assert entry.before["suspended_until"] is None and entry.after["suspended_until"]


def test_ban_and_unsuspend(moderator):
    member = UserFactory()
    services.moderate(actor=moderator, action="ban", target_type="user", target_id=member.pk, reason="scammer")
    member.refresh_from_db()
    assert member.is_banned and member.is_active
    services.moderate(actor=moderator, action="unsuspend", target_type="user", target_id=member.pk)
    member.refresh_from_db()
    assert member.is_active and member.suspended_until is None
    assert list(AuditLogEntry.objects.order_by("id").values_list("action", flat=True)) == ["ban", "unsuspend"]


def test_suspend_needs_a_duration(moderator):
    member = UserFactory()
    from apps.core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.moderate(actor=moderator, action="suspend", target_type="user", target_id=member.pk)


def test_moderator_cannot_suspend_another_moderator_but_admin_can(moderator):
    from apps.core.exceptions import PermissionDeniedError

    other = ModeratorFactory()
    with pytest.raises(PermissionDeniedError):
        services.moderate(actor=moderator, action="ban", target_type="user", target_id=other.pk)
    services.moderate(actor=AdminFactory(), action="ban", target_type="user", target_id=other.pk)
    assert User.objects.get(pk=other.pk).is_banned


def test_ignore_leaves_content_and_counts_ignored(moderator):
    post = PostFactory()
    r = flag(post)
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="ignore")
    r.refresh_from_db()
    assert r.status == "ignored"
    assert Post.objects.get(pk=post.pk).status == "published"
    assert ReporterStats.objects.get().ignored == 1


def test_actions_that_do_not_fit_the_target_are_400(moderator):
    from apps.core.exceptions import ValidationFailed

    comment = CommentFactory()
    with pytest.raises(ValidationFailed):
        services.moderate(actor=moderator, action="pin", target_type="comment", target_id=comment.pk)
    with pytest.raises(ValidationFailed):
        services.moderate(actor=moderator, action="hide", target_type="user", target_id=comment.author_id)


def test_resolved_item_cannot_be_acted_on_twice(moderator):
    from apps.core.exceptions import Conflict

    r = flag(PostFactory())
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="remove")
    with pytest.raises(Conflict):
        services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="restore")


def test_a_new_report_after_resolution_opens_a_new_item(moderator):
    post = PostFactory()
    first = flag(post)
    services.reviewable_act(reviewable_id=first.pk, actor=moderator, action="dismiss")
    second = flag(post)
    assert second.pk != first.pk and second.status == "pending"


# --- claims ----------------------------------------------------------------------------------


def test_claims_keep_two_moderators_apart(moderator, settings):
    from apps.core.exceptions import Conflict

    other = ModeratorFactory()
    r = flag(PostFactory())
    services.reviewable_claim(reviewable_id=r.pk, moderator=moderator)
    with pytest.raises(Conflict):
        services.reviewable_claim(reviewable_id=r.pk, moderator=other)
    with pytest.raises(Conflict):
        services.reviewable_act(reviewable_id=r.pk, actor=other, action="remove")
    # An expired claim no longer blocks.
    Reviewable.objects.filter(pk=r.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=settings.MODERATION_CLAIM_MINUTES + 1)
    )
    services.reviewable_claim(reviewable_id=r.pk, moderator=other)
    services.reviewable_act(reviewable_id=r.pk, actor=other, action="remove")
    r.refresh_from_db()
    assert r.claimed_by is None and r.status == "approved" and r.resolved_by == other
    assert {"claim", "remove"} <= set(AuditLogEntry.objects.values_list("action", flat=True))


def test_release_and_expire_claims(moderator):
    r = flag(PostFactory())
    services.reviewable_claim(reviewable_id=r.pk, moderator=moderator)
    services.reviewable_unclaim(reviewable_id=r.pk, moderator=moderator)
    assert Reviewable.objects.get(pk=r.pk).claimed_by is None
    services.reviewable_claim(reviewable_id=r.pk, moderator=moderator)
    Reviewable.objects.filter(pk=r.pk).update(claimed_at=timezone.now() - timedelta(days=1))
    from apps.moderation.tasks import expire_claims

    assert expire_claims.delay().get() == 1
    assert Reviewable.objects.get(pk=r.pk).claimed_by is None


def test_bulk_act_reports_per_item_errors(moderator):
    other = ModeratorFactory()
    a, b = flag(PostFactory()), flag(PostFactory())
    services.reviewable_claim(reviewable_id=b.pk, moderator=other)
    done, errors = services.bulk_act(reviewable_ids=[a.pk, b.pk], actor=moderator, action="remove")
    assert done == 1 and len(errors) == 1 and f"#{b.pk}" in errors[0]
    assert Post.objects.get(pk=a.target_id).status == "removed"
    assert Post.objects.get(pk=b.target_id).status == "published"


@pytest.mark.django_db(transaction=True)
def test_a_detected_vote_ring_puts_its_members_in_the_queue():
    from django.db import transaction

    from apps.core import events
    from apps.gamification.events import VoteRingDetected
    from apps.moderation.models import Reviewable
    from tests.factories import UserFactory

    a, b = UserFactory(), UserFactory()
    with transaction.atomic():
        events.emit(VoteRingDetected(report_id=7, member_ids=(a.pk, b.pk)))
    queued = Reviewable.objects.filter(target_type="user", target_id__in=[a.pk, b.pk])
    assert queued.count() == 2
