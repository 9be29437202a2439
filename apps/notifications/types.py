"""The notification types and their templates.

Each type renders a title, body and link from a context with `str.format` placeholders; missing
keys render as empty strings, so a receiver that cannot load a title still produces a sentence.
Consolidated types use `title_many` once more than one actor is counted ("{count} people ...").
Other areas add their own types with `register(...)` from their apps' ready().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import Formatter
from typing import Any


@dataclass(frozen=True)
class NotificationType:
    key: str
    label: str
    title: str
    body: str = ""
    link: str = ""
    title_many: str | None = None  # set: consolidated by group_key
    in_app: bool = True  # defaults a user can change per type
    email: bool = False
    retention_days: int = 90
    # "content" types are silenced by muting the actor, the thread or the category.
    content: bool = True

    @property
    def consolidates(self) -> bool:
        return self.title_many is not None


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return ""


_formatter = Formatter()


def render(template: str, context: dict[str, Any]) -> str:
    try:
        return _formatter.vformat(template, (), _Lenient(context)).strip()
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


REGISTRY: dict[str, NotificationType] = {}


def register(kind: NotificationType) -> NotificationType:
    REGISTRY[kind.key] = kind
    return kind


class _RegisteredKeys(Sequence):
    """Every registered type's key, read when used: areas register theirs in ready()."""

    def __getitem__(self, index):
        return list(REGISTRY)[index]

    def __len__(self) -> int:
        return len(REGISTRY)


KEYS: Sequence[str] = _RegisteredKeys()


def get(key: str) -> NotificationType:
    return REGISTRY[key]


REPLY_TO_POST = register(
    NotificationType(
        "reply_to_post",
        "Replies to your posts",
        "{actor} replied to your post {post_title}",
        "{excerpt}",
        "/posts/{post_id}#comment-{comment_id}",
        email=True,
    )
)
REPLY_TO_COMMENT = register(
    NotificationType(
        "reply_to_comment",
        "Replies to your comments",
        "{actor} replied to your comment",
        "{excerpt}",
        "/posts/{post_id}#comment-{comment_id}",
        email=True,
    )
)
MENTION = register(
    NotificationType(
        "mention", "Mentions", "{actor} mentioned you", "{excerpt}", "/posts/{post_id}{anchor}", email=True
    )
)
VOTE = register(
    NotificationType(
        "vote",
        "Upvotes on your content",
        "{actor} upvoted your {target}",
        "{post_title}",
        "/posts/{post_id}{anchor}",
        title_many="{count} people upvoted your {target}",
        retention_days=30,
    )
)
ACHIEVEMENT = register(
    NotificationType(
        "achievement_unlocked",
        "Achievements",
        "Achievement unlocked: {achievement}",
        "{achievement_description}",
        "/users/{user_id}/achievements",
        content=False,
    )
)
LEVEL_UP = register(
    NotificationType("level_up", "Level ups", "You reached level {new_level}", "", "/users/{user_id}", content=False)
)
HOLDER_TIER = register(
    NotificationType(
        "holder_tier_changed",
        "Holder tier changes",
        "Your holder tier is now {new_tier}",
        "It was {old_tier}.",
        "/wallet",
        content=False,
    )
)
PRICE_ALERT = register(
    NotificationType(
        "price_alert",
        "Price alerts",
        "Price alert: {symbol} is at ${price_usd}",
        "{alert_description}",
        "/market",
        email=True,
        content=False,
        retention_days=14,
    )
)
MILESTONE = register(
    NotificationType(
        "market_milestone",
        "Market milestones",
        "Milestone reached: {label}",
        "Market cap passed ${market_cap_usd}.",
        "/market/milestones",
        content=False,
    )
)
MODERATION = register(
    NotificationType(
        "moderation_action",
        "Moderation of your content or account",
        "A moderator {action}",
        "{reason}",
        "{link}",
        email=True,
        content=False,
        retention_days=365,
    )
)
WATCHED_POST = register(
    NotificationType(
        "watched_post",
        "New posts in categories you watch",
        "New post in {category}: {post_title}",
        "{excerpt}",
        "/posts/{post_id}",
    )
)
WATCHED_REPLY = register(
    NotificationType(
        "watched_reply",
        "New replies in threads you watch",
        "{actor} replied in {post_title}",
        "{excerpt}",
        "/posts/{post_id}#comment-{comment_id}",
        title_many="{count} new replies in {post_title}",
    )
)
ANNOUNCEMENT = register(
    NotificationType("system_announcement", "Announcements", "{title}", "{body}", "{link}", email=True, content=False)
)
