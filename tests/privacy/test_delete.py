"""DELETE /api/users/me: re-authentication, erasure in every area, anonymised public content,
tokens ended, other users untouched, safe to retry."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import AuthSession, Profile, RoleAssignment, User
from apps.core import events
from apps.privacy import services
from apps.privacy.events import AccountDeleted
from apps.privacy.models import AccountErasure
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def private_rows(user_id: int) -> dict[str, int]:
    """How many private rows of every area point at the user."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialToken

    from apps.core.models import IdempotencyKey
    from apps.forum.models import Draft
    from apps.gamification.models import ActivityLog, LeaderboardEntry, PointTransaction, UserAchievement, UserStats
    from apps.market.models import PriceAlert
    from apps.media.models import MediaAsset
    from apps.moderation.models import Report, ReporterStats
    from apps.notifications.models import Notification, NotificationSettings, Subscription
    from apps.realtime.models import PresenceEntry
    from apps.search.models import SearchLog
    from apps.search.services import searcher_key
    from apps.wallet.models import BalanceHistory, HolderStatus, TokenBalance, Transaction, WalletConnection

    return {
        "sessions": AuthSession.objects.filter(user_id=user_id).count(),
        "emails": EmailAddress.objects.filter(user_id=user_id).count(),
        "oauth": SocialAccount.objects.filter(user_id=user_id).count(),
        "oauth_tokens": SocialToken.objects.filter(account__user_id=user_id).count(),
        "roles": RoleAssignment.objects.filter(user_id=user_id).count(),
        "drafts": Draft.objects.filter(author_id=user_id).count(),
        "report_notes": Report.objects.filter(reporter_id=user_id).exclude(note="").count(),
        "reporter_stats": ReporterStats.objects.filter(user_id=user_id).count(),
        "media": MediaAsset.objects.filter(owner_id=user_id).count(),
        "wallets": WalletConnection.objects.filter(user_id=user_id).count(),
        "balances": TokenBalance.objects.filter(wallet__user_id=user_id).count(),
        "balance_history": BalanceHistory.objects.filter(wallet__user_id=user_id).count(),
        "transactions": Transaction.objects.filter(user_id=user_id).count(),
        "holder": HolderStatus.objects.filter(user_id=user_id).count(),
        "alerts": PriceAlert.objects.filter(user_id=user_id).count(),
        "points": PointTransaction.objects.filter(user_id=user_id).count(),
        "achievements": UserAchievement.objects.filter(user_id=user_id).count(),
        "activity": ActivityLog.objects.filter(user_id=user_id).count(),
        "stats": UserStats.objects.filter(user_id=user_id).count(),
        "standings": LeaderboardEntry.objects.filter(user_id=user_id).count(),
        "notifications": Notification.objects.filter(user_id=user_id).count(),
        "notification_settings": NotificationSettings.objects.filter(user_id=user_id).count(),
        "subscriptions": Subscription.objects.filter(user_id=user_id).count(),
        "search_log": SearchLog.objects.filter(searcher=searcher_key(user_id=user_id, address=None)).count(),
        "presence": PresenceEntry.objects.filter(user_id=user_id).count(),
        "idempotency_keys": IdempotencyKey.objects.filter(user_id=user_id).count(),
    }


def _delete(client, body):
    return client.delete("/api/users/me", body, format="json")


def test_wrong_or_missing_password_is_a_clear_error_and_changes_nothing(worlds):
    alice_world, _ = worlds
    alice = alice_world.user
    before = private_rows(alice.pk)
    client = bearer(alice_world.tokens["access"])
    r = _delete(client, {"password": "not-it"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "validation_error" and "password" in err["details"] and err["request_id"]
    r = _delete(client, {})
    assert r.status_code == 400 and "password" in r.json()["error"]["details"]
    # A typed confirmation does not replace the password of a password account.
    assert _delete(client, {"confirm": "alice"}).status_code == 400
    alice.refresh_from_db()
    assert alice.is_active and alice.username == "alice" and alice.check_password(DEFAULT_PASSWORD)
    assert private_rows(alice.pk) == before and all(before.values())
    assert alice_world.post.__class__.objects.get(pk=alice_world.post.pk).author_id == alice.pk
    assert not AccountErasure.objects.exists()
    assert client.get("/api/users/me").status_code == 200


def test_anonymous_cannot_delete_and_nobody_deletes_someone_else(worlds, api_client):
    alice_world, bob_world = worlds
    assert _delete(api_client, {"password": DEFAULT_PASSWORD}).status_code == 401
    r = bearer(alice_world.tokens["access"]).delete(
        f"/api/users/{bob_world.user.pk}", {"password": DEFAULT_PASSWORD}, format="json"
    )
    assert r.status_code == 403
    assert User.objects.get(pk=bob_world.user.pk).is_active


def test_delete_erases_private_data_anonymises_content_and_ends_every_token(
    worlds, django_capture_on_commit_callbacks, tmp_path
):
    from apps.forum.models import Comment, Post, Vote
    from apps.moderation.models import Report

    alice_world, bob_world = worlds
    alice, bob = alice_world.user, bob_world.user
    from apps.notifications.models import Subscription

    Subscription.objects.create(user=bob, target_type="user", target_id=alice.pk, level="watch")
    bob_before = private_rows(bob.pk)
    others_post_votes = Post.objects.values_list("upvotes", "score").get(pk=alice_world.others_post.pk)
    seen = []
    events.subscribe(AccountDeleted, seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            r = _delete(bearer(alice_world.tokens["access"]), {"password": DEFAULT_PASSWORD})
    finally:
        events.unsubscribe(AccountDeleted, seen.append)
    assert r.status_code == 204, r.content
    assert seen == [AccountDeleted(user_id=alice.pk)]

    # Every token stops; the password no longer signs in.
    assert bearer(alice_world.tokens["access"]).get("/api/users/me").status_code == 401
    assert (
        APIClient().post("/api/auth/refresh", {"refresh": alice_world.tokens["refresh"]}, format="json").status_code
        == 401
    )
    login = APIClient().post("/api/auth/login", {"login": "alice", "password": DEFAULT_PASSWORD}, format="json")
    assert login.status_code in (400, 401)

    # The row is an anonymous tombstone.
    alice.refresh_from_db()
    assert not alice.is_active and alice.username == f"deleted_{alice.pk}" and alice.email == ""
    assert not alice.has_usable_password()
    profile = Profile.objects.get(user=alice)
    assert (profile.display_name, profile.bio, profile.settings, profile.points) == ("", "", {}, 0)
    assert (profile.public_points, profile.public_level) == (0, 1)

    # Private rows gone in every area (report notes blanked, the reports themselves kept).
    assert private_rows(alice.pk) == dict.fromkeys(private_rows(alice.pk), 0)
    assert Report.objects.filter(reporter=alice).count() == 1
    # Media files gone from storage after commit.
    from django.core.files.storage import default_storage

    assert alice_world.media_files and not any(default_storage.exists(n) for n in alice_world.media_files)

    # Public content kept, attributed to the shared deleted-user account, still listable.
    ghost = User.objects.get(username="[deleted]")
    assert not ghost.is_active and not ghost.has_usable_password()
    assert Post.objects.get(pk=alice_world.post.pk).author_id == ghost.pk
    assert Comment.objects.get(pk=alice_world.comment.pk).author_id == ghost.pk
    reader = APIClient()
    post = reader.get(f"/api/posts/{alice_world.post.pk}").json()["data"]
    assert post["title"] == "ALICE post title" and post["author"]["username"] == "[deleted]"
    assert post["author"]["display_name"] == "Deleted user" and post["author"]["id"] == ghost.pk
    comments = reader.get(f"/api/posts/{alice_world.others_post.pk}/comments").json()["data"]
    mine = [c for c in comments if c["id"] == alice_world.comment.pk]
    assert mine and mine[0]["body"] == "ALICE comment body" and mine[0]["author"]["username"] == "[deleted]"
    feed = reader.get("/api/posts?sort=new").json()["data"]
    assert alice_world.post.pk in [p["id"] for p in feed]
    assert "alice" not in str(post["author"]).lower() and "alice" not in str(mine[0]["author"]).lower()

    # Votes stay (totals stable), on the anonymous row.
    assert Vote.objects.filter(user=alice).count() == 1
    assert Post.objects.values_list("upvotes", "score").get(pk=alice_world.others_post.pk) == others_post_votes

    # Bob is untouched (but for his follow of Alice, a person who is gone).
    from apps.notifications.models import Subscription

    assert not Subscription.objects.filter(target_type="user", target_id=alice.pk).exists()
    assert private_rows(bob.pk) == {**bob_before, "subscriptions": bob_before["subscriptions"] - 1}
    bob.refresh_from_db()
    assert bob.is_active and bob.username == "bob"
    assert bearer(bob_world.tokens["access"]).get("/api/users/me").status_code == 200

    # The audit entry says what happened, not who it was.
    erasure = AccountErasure.objects.get(user_id=alice.pk)
    assert erasure.method == "password" and erasure.completed_at and erasure.runs == 1
    assert erasure.counts["forum"]["posts"] == 2 and erasure.counts["wallet"]["wallets"] == 1
    assert "alice" not in str(erasure.counts).lower()

    # Username and email are free again.
    r = APIClient().post(
        "/api/auth/register",
        {"email": "alice@example.com", "username": "alice", "password": "another-long-passphrase"},
        format="json",
    )
    assert r.status_code == 201, r.content


def test_retry_is_safe(worlds, django_capture_on_commit_callbacks):
    alice_world, bob_world = worlds
    alice = alice_world.user
    client = bearer(alice_world.tokens["access"])
    with django_capture_on_commit_callbacks(execute=True):
        assert _delete(client, {"password": DEFAULT_PASSWORD}).status_code == 204
    # The same request again: the token is dead, nothing happens.
    assert _delete(client, {"password": DEFAULT_PASSWORD}).status_code == 401
    # An operator's retry re-runs every eraser on the tombstone: nothing left to do, no error.
    bob_before = private_rows(bob_world.user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        record = services.account_erase_retry(user_id=alice.pk)
    assert record is not None
    record.refresh_from_db()
    assert record.runs == 2
    assert set(private_rows(alice.pk).values()) == {0}
    assert private_rows(bob_world.user.pk) == bob_before
    assert User.objects.filter(username="[deleted]").count() == 1
    # A live account is not a tombstone: the retry refuses to touch it.
    assert services.account_erase_retry(user_id=bob_world.user.pk) is None
    assert User.objects.get(pk=bob_world.user.pk).is_active


def test_passwordless_account_confirms_by_typing_its_username(make_client):
    user = UserFactory(username="solana_sam")
    user.set_unusable_password()
    user.save()
    client = make_client(user)  # a fresh sign-in
    r = _delete(client, {"confirm": "someone_else"})
    assert r.status_code == 400 and "confirm" in r.json()["error"]["details"]
    r = _delete(client, {})
    assert r.status_code == 400 and "confirm" in r.json()["error"]["details"]
    assert _delete(client, {"confirm": "Solana_Sam"}).status_code == 204
    user.refresh_from_db()
    assert not user.is_active and AccountErasure.objects.get(user_id=user.pk).method == "confirm"


def test_passwordless_account_needs_a_recent_sign_in(make_client):
    import datetime as dt

    from django.utils import timezone

    user = UserFactory(username="old_session")
    user.set_unusable_password()
    user.save()
    client = make_client(user)
    AuthSession.objects.filter(user=user).update(created_at=timezone.now() - dt.timedelta(hours=1))
    r = _delete(client, {"confirm": "old_session"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    assert User.objects.get(pk=user.pk).is_active


def test_deleted_content_earns_the_ghost_nothing(worlds, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from apps.forum import services as forum
    from apps.gamification.models import PointTransaction
    from apps.notifications.models import Notification

    alice_world, bob_world = worlds
    with django_capture_on_commit_callbacks(execute=True):
        _delete(bearer(alice_world.tokens["access"]), {"password": DEFAULT_PASSWORD})
    ghost = User.objects.get(username="[deleted]")
    # Bob is an established voter whose upvote would earn an author points.
    User.objects.filter(pk=bob_world.user.pk).update(date_joined=timezone.now() - dt.timedelta(days=30))
    bob_world.user.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        forum.vote_post(user=bob_world.user, post_id=alice_world.post.pk, value=1)
        forum.comment_create(author=bob_world.user, post_id=alice_world.post.pk, body="replying to a ghost")
    assert not PointTransaction.objects.filter(user=ghost).exists()
    assert Profile.objects.get(user=ghost).points == 0
    assert not Notification.objects.filter(user=ghost).exists()
    # The same vote on a live author's post does earn points (so the check above means something).
    with django_capture_on_commit_callbacks(execute=True):
        carol_post = alice_world.post.__class__.objects.create(
            author=UserFactory(), category=alice_world.post.category, title="carol", body="x"
        )
        forum.vote_post(user=bob_world.user, post_id=carol_post.pk, value=1)
    assert PointTransaction.objects.filter(user=carol_post.author, activity="post_upvoted").exists()


def test_leaderboard_sorted_sets_drop_the_deleted_user(worlds, redis_url, settings, django_capture_on_commit_callbacks):
    import uuid

    import redis

    from apps.gamification import redis_store
    from apps.gamification.services import rebuild_redis_leaderboards

    settings.GAMIFICATION_REDIS_URL = redis_url
    settings.GAMIFICATION_REDIS_PREFIX = f"test:privacy:{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    try:
        alice_world, bob_world = worlds
        assert rebuild_redis_leaderboards() > 0
        keys = [k for k in client.scan_iter(f"{settings.GAMIFICATION_REDIS_PREFIX}:*") if not k.endswith(b":ready")]
        alice_member = redis_store.member(alice_world.user.pk)
        bob_member = redis_store.member(bob_world.user.pk)
        assert keys and all(client.zscore(k, alice_member) is not None for k in keys)
        with django_capture_on_commit_callbacks(execute=True):
            _delete(bearer(alice_world.tokens["access"]), {"password": DEFAULT_PASSWORD})
        assert all(client.zscore(k, alice_member) is None for k in keys)
        assert all(client.zscore(k, bob_member) is not None for k in keys)
        board = APIClient().get("/api/leaderboard?period=all").json()["data"]
        assert [row["user"]["id"] for row in board] == [bob_world.user.pk]
    finally:
        for key in client.scan_iter(f"{settings.GAMIFICATION_REDIS_PREFIX}:*"):
            client.delete(key)


def test_account_deleted_makes_search_caches_stale(worlds, django_capture_on_commit_callbacks):
    from apps.search import cache as search_cache

    alice_world, _ = worlds
    before = search_cache.content_version()
    with django_capture_on_commit_callbacks(execute=True):
        _delete(bearer(alice_world.tokens["access"]), {"password": DEFAULT_PASSWORD})
    assert search_cache.content_version() != before


def test_a_duplicate_request_that_waited_on_the_lock_is_a_no_op(worlds, django_capture_on_commit_callbacks):
    """Two DELETEs at once: both authenticated before either committed; the second finds a
    tombstone under the row lock and returns the first one's record without touching anything."""
    alice_world, _ = worlds
    stale = User.objects.get(pk=alice_world.user.pk)  # as the second request loaded it
    with django_capture_on_commit_callbacks(execute=True):
        first = services.account_delete(user=alice_world.user, password=DEFAULT_PASSWORD)
    second = services.account_delete(user=stale, password=DEFAULT_PASSWORD)
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.runs == 1
