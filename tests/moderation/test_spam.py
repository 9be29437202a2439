"""Spam controls the forum services call: first-day limits, duplicates, watched words, pre-approval."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.exceptions import Conflict, RateLimited, ValidationFailed
from apps.forum.models import ContentStatus
from apps.moderation import spam
from apps.moderation.models import Reviewable
from tests.factories import UserFactory
from tests.moderation.factories import CommentFactory, ModeratorFactory, PostFactory, WatchedWordFactory

pytestmark = pytest.mark.django_db


def veteran():
    return UserFactory(date_joined=timezone.now() - timedelta(days=90))


def test_clean_post_is_allowed():
    verdict = spam.check_new_post(veteran(), "gm", "Success Kid to the moon, fellow holders")
    assert verdict.action == "allow" and verdict.allowed and verdict.status == ContentStatus.PUBLISHED
    verdict.raise_if_blocked()  # no error


def test_first_day_post_limit(settings):
    settings.MODERATION_NEW_USER_MAX_POSTS = 2
    newbie = UserFactory()
    PostFactory.create_batch(2, author=newbie)
    verdict = spam.check_new_post(newbie, "third", "one more")
    assert verdict.action == "block" and "new_user_limit" in verdict.reasons
    with pytest.raises(RateLimited) as exc:
        verdict.raise_if_blocked()
    assert exc.value.status == 429 and exc.value.retry_after > 0
    # The same history on an old account is fine.
    old = veteran()
    PostFactory.create_batch(2, author=old)
    assert spam.check_new_post(old, "third", "one more").allowed


def test_first_day_comment_and_link_limits(settings):
    settings.MODERATION_NEW_USER_MAX_COMMENTS = 1
    settings.MODERATION_NEW_USER_MAX_LINKS = 1
    newbie = UserFactory()
    links = "see https://a.example and www.b.example"
    verdict = spam.check_new_comment(newbie, links)
    assert verdict.action == "block" and "new_user_links" in verdict.reasons
    with pytest.raises(ValidationFailed):
        verdict.raise_if_blocked()
    assert spam.check_new_comment(veteran(), links).allowed
    CommentFactory(author=newbie)
    assert "new_user_limit" in spam.check_new_comment(newbie, "hello again").reasons


def test_duplicate_posts_and_comments_are_refused():
    author = veteran()
    PostFactory(author=author, title="Buy SKID now", body="The  best   token\nEver")
    verdict = spam.check_new_post(author, "buy skid NOW", "the best token ever")
    assert verdict.action == "block" and verdict.reasons == ("duplicate",)
    with pytest.raises(Conflict):
        verdict.raise_if_blocked()
    # Another author may say the same; an old duplicate is fine.
    assert spam.check_new_post(veteran(), "Buy SKID now", "The best token Ever").allowed
    old = PostFactory(author=veteran(), title="t", body="same words", created_at=timezone.now() - timedelta(days=3))
    assert spam.check_new_post(old.author, "t", "same words").allowed
    c = CommentFactory(author=author, body="first!")
    assert spam.check_new_comment(author, "FIRST!").reasons == ("duplicate",)
    assert spam.check_new_comment(c.author, "second!").allowed


def test_watched_words_block_flag_and_require_approval():
    WatchedWordFactory(word="rugpull", action="block")
    WatchedWordFactory(word="free sol", action="require_approval")
    WatchedWordFactory(word="pump*", action="flag")
    author = veteran()
    blocked = spam.check_new_post(author, "Total RUGPULL", "avoid")
    assert blocked.action == "block" and blocked.matched_words == ("rugpull",)
    with pytest.raises(ValidationFailed) as exc:
        blocked.raise_if_blocked()
    assert "rugpull" in str(exc.value.details)
    held = spam.check_new_comment(author, "claim your FREE   sol today")
    assert held.action == "require_approval" and held.status == ContentStatus.PENDING
    flagged = spam.check_new_comment(author, "pumping hard")
    assert (
        flagged.action == "flag" and flagged.status == ContentStatus.PUBLISHED and flagged.matched_words == ("pump*",)
    )
    # Whole words only: "rugpullers" is not "rugpull"; "pump*" does not match "sump".
    assert spam.check_new_comment(author, "the rugpullers sump").allowed
    assert spam.check_new_comment(author, "the rugpullers sump").action == "allow"
    # The worst action wins.
    assert spam.check_new_post(author, "pump", "rugpull").action == "block"


def test_after_create_puts_flagged_and_held_content_in_the_queue():
    WatchedWordFactory(word="pump", action="flag")
    WatchedWordFactory(word="airdrop", action="require_approval")
    author = veteran()
    verdict = spam.check_new_comment(author, "pump it")
    comment = CommentFactory(author=author, body="pump it")
    spam.after_create(verdict, "comment", comment.pk)
    r = Reviewable.objects.get(target_type="comment")
    assert r.kind == "flagged" and r.reasons == ["watched_word"] and r.report_count == 0
    verdict = spam.check_new_post(author, "airdrop", "pump")
    post = PostFactory(author=author, status=verdict.status)
    spam.after_create(verdict, "post", post.pk)
    r = Reviewable.objects.get(target_type="post")
    assert r.kind == "queued" and set(r.reasons) == {"needs_approval", "watched_word"}
    assert post.status == "pending"


def test_preapproval_of_first_posts(settings, moderator):
    from apps.moderation import services

    settings.MODERATION_PREAPPROVE_FIRST_POSTS = 1
    newbie = veteran()
    verdict = spam.check_new_post(newbie, "hello", "my first post")
    assert verdict.action == "require_approval" and verdict.reasons == ("needs_approval",)
    post = PostFactory(author=newbie, status=verdict.status)
    spam.after_create(verdict, "post", post.pk)
    r = Reviewable.objects.get()
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="approve")
    post.refresh_from_db()
    r.refresh_from_db()
    assert post.status == "published" and r.status == "approved"
    # Once one post is published the author posts freely.
    assert spam.check_new_post(newbie, "again", "second post").action == "allow"


def test_moderators_are_exempt(settings):
    settings.MODERATION_NEW_USER_MAX_POSTS = 0
    WatchedWordFactory(word="rugpull", action="block")
    mod = ModeratorFactory()
    assert spam.check_new_post(mod, "rugpull warning", "https://a https://b https://c").allowed


def test_watched_word_cache_is_invalidated_on_change(moderator):
    from apps.moderation import services

    author = veteran()
    assert spam.check_new_comment(author, "moonboy").allowed
    with pytest.MonkeyPatch.context():
        services.watched_word_add(actor=moderator, word="moonboy", action="block")
    # on_commit does not run inside the test transaction; invalidate as a commit would.
    spam.invalidate_watched_words()
    assert not spam.check_new_comment(author, "moonboy").allowed
