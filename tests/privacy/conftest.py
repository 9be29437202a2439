"""A user with data in every area (and a second user with their own), for export and deletion."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from apps.accounts.models import Profile, RoleAssignment, User
from apps.accounts.tokens import issue_token_pair
from apps.core.models import IdempotencyKey
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.forum.factories import CategoryFactory, PostFactory

SECRET_OAUTH_TOKEN = "ya29.secret-oauth-access-token"
SECRET_OAUTH_REFRESH = "1//secret-oauth-refresh-token"


@pytest.fixture(autouse=True)
def _privacy_env(db, settings, tmp_path):
    from django.core.cache import cache

    from apps.gamification import catalogue, seed

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_CLAMAV_URL = ""
    settings.GAMIFICATION_REDIS_URL = ""
    cache.clear()
    seed.load_all()
    catalogue.clear()
    yield
    catalogue.clear()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class World:
    user: User
    tokens: dict
    post: object = None
    comment: object = None
    others_post: object = None
    media_files: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def populate(user: User, *, other: User, tag: str, category=None) -> World:
    """Rows for `user` in every area that holds personal data. `tag` marks every free text so a
    test can tell this user's data from another's in an export."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

    from apps.forum import services as forum
    from apps.forum.models import Draft, PostRevision
    from apps.gamification import services as gamification
    from apps.gamification.models import Achievement, UserAchievement
    from apps.market.models import PriceAlert
    from apps.media.services import _files, media_upload
    from apps.moderation.models import Report, ReporterStats, Reviewable
    from apps.notifications.models import Notification, NotificationSettings, Subscription
    from apps.realtime.models import PresenceEntry
    from apps.search.services import search_log_record, searcher_key
    from apps.wallet.models import BalanceHistory, HolderStatus, TokenBalance, Transaction, WalletConnection

    now = timezone.now()
    category = category or CategoryFactory(slug="general", name="General")
    tokens = issue_token_pair(user)
    Profile.objects.filter(user=user).update(
        display_name=f"{tag} Display", bio=f"{tag} bio", settings={"theme": f"{tag}-dark"}, avatar_url=""
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    app, _ = SocialApp.objects.get_or_create(provider="google", defaults={"name": "g", "client_id": "cid"})
    account = SocialAccount.objects.create(user=user, provider="google", uid=f"{tag}-google-uid", extra_data={})
    SocialToken.objects.create(app=app, account=account, token=SECRET_OAUTH_TOKEN, token_secret=SECRET_OAUTH_REFRESH)
    RoleAssignment.objects.create(user=user, role="user", previous_role="user", reason=f"{tag} role reason")

    post = PostFactory(author=user, category=category, title=f"{tag} post title", body=f"{tag} post body")
    PostRevision.objects.create(post=post, number=1, editor=user, title=f"{tag} post title", body=f"{tag} rev")
    # Someone else's post to comment, vote and report on (its title is the other user's text).
    others_post = PostFactory(author=other, category=category, title=f"{other.username.upper()} target post")
    comment = forum.comment_create(author=user, post_id=others_post.pk, body=f"{tag} comment body")
    forum.vote_post(user=user, post_id=others_post.pk, value=1)
    Draft.objects.create(author=user, category=category, title=f"{tag} draft", body=f"{tag} draft body")

    reviewable = Reviewable.objects.create(target_type="post", target_id=others_post.pk, target_user=other)
    Report.objects.create(
        reviewable=reviewable, reporter=user, target_type="post", target_id=others_post.pk, reason="spam",
        note=f"{tag} report note",
    )  # fmt: skip
    ReporterStats.objects.create(user=user, agreed=1)

    asset = media_upload(owner=user, upload=SimpleUploadedFile(f"{tag}.png", png()))

    wallet = WalletConnection.objects.create(
        user=user, address=f"{tag}Wa11et1111111111111111111111111"[:44], verified=True, is_primary=True
    )
    BalanceHistory.objects.create(wallet=wallet, mint="Mint1111", amount=Decimal(1234), decimals=6, recorded_at=now)
    TokenBalance.objects.create(wallet=wallet, mint="Mint1111", amount=Decimal(1234), decimals=6, checked_at=now)
    Transaction.objects.create(
        wallet=wallet, user=user, signature=f"{tag}sig", slot=1, block_time=now, kind="buy", mint="Mint1111",
        amount=Decimal(1234), decimals=6,
    )  # fmt: skip
    HolderStatus.objects.create(user=user, tier="holder", total_amount=Decimal(1234))

    PriceAlert.objects.create(user=user, kind="above", target_price_usd=Decimal("0.5"), note=f"{tag} alert")

    gamification.award_points(user_id=user.pk, activity="post_created", idempotency_key=f"test:{tag}:1")
    achievement = Achievement.objects.order_by("id").first()
    UserAchievement.objects.create(user=user, achievement=achievement, unlocked_at=now)
    gamification.record_activity(user_id=user.pk, verb="visit", object_type="day", object_id=tag)
    gamification.bump_stat(user_id=user.pk, field="posts_created")

    Notification.objects.create(user=user, type="system", title=f"{tag} notification", created_at=now)
    NotificationSettings.objects.update_or_create(user=user, defaults={"email_frequency": "weekly"})
    Subscription.objects.create(user=user, target_type="thread", target_id=others_post.pk, level="watch")

    search_log_record(query=f"{tag} search", searcher=searcher_key(user_id=user.pk, address=None), result_count=1)
    PresenceEntry.objects.create(
        room="lobby", user_id=user.pk, socket_id=f"{tag}-socket", expires_at=now + dt.timedelta(minutes=1)
    )
    IdempotencyKey.objects.create(
        user=user, key=f"{tag}-key", method="POST", path="/api/posts", fingerprint="0" * 64, status_code=201,
        response=f'{{"title": "{tag} replayed answer"}}',
    )  # fmt: skip
    return World(
        user=user,
        tokens=tokens,
        post=post,
        comment=comment,
        others_post=others_post,
        media_files=_files(asset),
        extra={"asset": asset, "wallet": wallet},
    )


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def worlds(alice, bob):
    category = CategoryFactory(slug="general", name="General")
    a = populate(alice, other=bob, tag="ALICE", category=category)
    b = populate(bob, other=alice, tag="BOB", category=category)
    return a, b


__all__ = ["DEFAULT_PASSWORD", "World", "populate"]
