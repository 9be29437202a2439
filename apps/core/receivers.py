"""The product events the analytics sink receives (apps.core.analytics.track), after commit:

    user.registered  {method}                 post.created     {post_id, category_id}
    comment.created  {comment_id, post_id}    vote.cast        {target_type, target_id, value}
    wallet.verified  {}  (no address: the sink gets ids, never personal data)

Also: reference data changed somewhere, so every process drops its cached copy (apps.core.refcache)."""

from __future__ import annotations

from apps.accounts.events import UserRegistered
from apps.core import refcache
from apps.core.analytics import track
from apps.forum.events import CommentCreated, PostCreated, VoteChanged
from apps.wallet.events import WalletVerified


def on_user_registered(event: UserRegistered) -> None:
    track("user.registered", user_id=event.user_id, properties={"method": event.method})


def on_post_created(event: PostCreated) -> None:
    track(
        "post.created", user_id=event.author_id, properties={"post_id": event.post_id, "category_id": event.category_id}
    )


def on_comment_created(event: CommentCreated) -> None:
    track(
        "comment.created",
        user_id=event.author_id,
        properties={"comment_id": event.comment_id, "post_id": event.post_id},
    )


def on_vote_changed(event: VoteChanged) -> None:
    properties = {"target_type": event.target_type, "target_id": event.target_id, "value": event.new_value}
    track("vote.cast", user_id=event.voter_id, properties=properties)


def on_wallet_verified(event: WalletVerified) -> None:
    track("wallet.verified", user_id=event.user_id)


SUBSCRIPTIONS = [
    (UserRegistered, on_user_registered),
    (PostCreated, on_post_created),
    (CommentCreated, on_comment_created),
    (VoteChanged, on_vote_changed),
    (WalletVerified, on_wallet_verified),
    (refcache.ReferenceDataChanged, refcache.on_changed),
]
