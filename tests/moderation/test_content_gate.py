"""The content gate (moderation's spam controls behind apps.forum.hooks) on create AND edit:
watched words, new accounts' link limit, level perks; watched words matched in linear time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.gamification import catalogue, seed
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory
from tests.moderation.factories import CommentFactory, PostFactory, WatchedWordFactory

pytestmark = pytest.mark.django_db


def veteran(**extra):
    return UserFactory(date_joined=timezone.now() - timedelta(days=90), **extra)


@pytest.fixture
def levels():
    seed.load_levels()
    catalogue.clear()
    yield
    catalogue.clear()


def _set_level(user, level: int) -> None:
    from apps.accounts.models import Profile

    Profile.objects.filter(user=user).update(level=level, points=50 * (level - 1) ** 2)
    user.refresh_from_db()


def test_editing_a_post_into_a_blocked_word_is_refused(make_client):
    WatchedWordFactory(word="rugpull", action="block")
    author = veteran()
    post = PostFactory(author=author, body="an honest post")
    r = make_client(author).put(f"/api/posts/{post.pk}", {"body": "this is a rugpull"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    r = make_client(author).put(f"/api/posts/{post.pk}", {"title": "Rugpull incoming"}, format="json")
    assert r.status_code == 400
    post.refresh_from_db()
    assert post.body == "an honest post"


def test_editing_a_comment_into_a_blocked_word_is_refused(make_client):
    WatchedWordFactory(word="rugpull", action="block")
    author = veteran()
    comment = CommentFactory(author=author, body="nice chart")
    r = make_client(author).put(f"/api/comments/{comment.pk}", {"body": "nice rugpull"}, format="json")
    assert r.status_code == 400


def test_a_flagged_word_added_by_an_edit_goes_to_the_queue(make_client):
    from apps.moderation.models import Reviewable

    WatchedWordFactory(word="pump*", action="flag")
    author = veteran()
    post = PostFactory(author=author, body="calm words")
    assert make_client(author).put(f"/api/posts/{post.pk}", {"body": "pumpamentals"}, format="json").status_code == 200
    assert Reviewable.objects.filter(target_type="post", target_id=post.pk, reasons__contains=["watched_word"]).exists()


def test_new_accounts_cannot_edit_links_past_their_limit(make_client, settings):
    settings.MODERATION_NEW_USER_MAX_LINKS = 1
    newbie = UserFactory()
    post = PostFactory(author=newbie, body="no links")
    links = "https://a.example https://b.example https://c.example"
    r = make_client(newbie).put(f"/api/posts/{post.pk}", {"body": links}, format="json")
    assert r.status_code == 400
    comment = CommentFactory(author=newbie, body="no links")
    assert make_client(newbie).put(f"/api/comments/{comment.pk}", {"body": links}, format="json").status_code == 400


@pytest.mark.parametrize(
    ("body", "perk"),
    [("see https://example.com/chart", "post_links"), ("![chart](/api/media/files/x/medium)", "post_images")],
)
def test_level_perks_gate_links_and_images(make_client, levels, body, perk):
    category = CategoryFactory()
    newcomer, member = veteran(), veteran()
    _set_level(member, 2)
    r = make_client(newcomer).post(
        "/api/posts", {"category": category.slug, "title": "My chart", "body": body}, format="json"
    )
    assert r.status_code == 403, r.json()
    assert r.json()["error"]["details"]["perk"] == perk
    r = make_client(member).post(
        "/api/posts", {"category": category.slug, "title": "My chart", "body": body}, format="json"
    )
    assert r.status_code == 201, r.json()
    # and on edit
    post = PostFactory(author=newcomer, category=category, body="plain")
    assert make_client(newcomer).put(f"/api/posts/{post.pk}", {"body": body}, format="json").status_code == 403
    comment = CommentFactory(author=newcomer, body="plain")
    assert make_client(newcomer).put(f"/api/comments/{comment.pk}", {"body": body}, format="json").status_code == 403


@pytest.mark.parametrize("size", [521, 100_000])
def test_a_hostile_wildcard_pattern_is_matched_in_linear_time(make_client, settings, size):
    """`qz*qz*qz*qz*qz` against one long run of `qz` not ending a word: a backtracking regular
    expression took seconds for 521 characters and never finished for 40,000. A generous bound,
    not a benchmark: linear matching takes milliseconds."""
    settings.FORUM_POST_BODY_MAX_LENGTH = 120_000
    WatchedWordFactory(word="qz*qz*qz*qz*qz", action="block")
    author = veteran()
    category = CategoryFactory()
    body = ("qz" * size)[: size - 1] + "x"
    started = time.perf_counter()
    r = make_client(author).post(
        "/api/posts", {"category": category.slug, "title": "Hmm, look", "body": body}, format="json"
    )
    elapsed = time.perf_counter() - started
    assert r.status_code == 201, r.json()  # no whole word matches: published
    assert elapsed < 1.0, elapsed


def test_wildcards_and_phrases_still_match_whole_words():
    from apps.moderation import spam

    WatchedWordFactory(word="qz*qz", action="block")
    WatchedWordFactory(word="free sol", action="block")
    assert spam.check_watched_words("a QZabcQZ here").action == "block"
    assert spam.check_watched_words("aqzqz").action == "allow"  # not a whole word
    assert spam.check_watched_words("get FREE,  sol now").action == "block"
    assert spam.check_watched_words("freesol").action == "allow"
