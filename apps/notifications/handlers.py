"""What notifications does when other areas' events happen: one handler per event, run by
`receivers.receive` (in the outbox relay, see there).

Handlers use the event's fields; where a nicer text needs another area's model (a post title, an
achievement name, a price) it is loaded lazily through `django.apps` and left out when that area
is not installed: the notification is still created, with a plainer title.

A new notification type: its `NotificationType` in `types.py` and a handler here decorated with
`@handles(TheEvent)`; `receivers.SUBSCRIPTIONS` lists every event that has a handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings

from apps.accounts.events import UserSuspended
from apps.core.events import DomainEvent
from apps.forum.events import CommentCreated, CommentDeleted, PostCreated, PostDeleted, UserMentioned, VoteChanged
from apps.gamification.events import AchievementUnlocked, LevelUp
from apps.market.events import MilestoneReached, PriceAlertTriggered
from apps.moderation.events import ContentModerated
from apps.notifications import access, selectors, services
from apps.notifications.models import TargetType
from apps.wallet.events import HolderTierChanged

logger = logging.getLogger(__name__)
EXCERPT = 200


# -- lazy look-ups in other areas (all optional) -------------------------------------------------
def _model(app_label: str, name: str):
    try:
        return django_apps.get_model(app_label, name)
    except (LookupError, ValueError):
        return None


def _excerpt(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def post_info(post_id: int) -> dict[str, Any]:
    """{"post_title", "post_author_id"} of a forum post, or {} without the forum app."""
    Post = _model("forum", "Post")
    if Post is None:
        return {}
    try:
        row = Post.objects.filter(pk=post_id).values("title", "author_id").first()
    except Exception:  # the forum's schema is not ours: degrade to a plainer notification
        logger.warning("post lookup failed for %s", post_id, exc_info=True)
        return {}
    return {"post_title": row["title"], "post_author_id": row["author_id"]} if row else {}


def _notice_post(post_id: int):
    """The post for a notice's title, author and readers check, in one query (None: unknown, or the
    look-up failed; the callers then degrade as with `post_info`)."""
    try:
        return access.notice_post(post_id)
    except Exception:
        logger.warning("post lookup failed for %s", post_id, exc_info=True)
        return None


def comment_info(comment_id: int | None) -> dict[str, Any]:
    Comment = _model("forum", "Comment")
    if Comment is None or not comment_id:
        return {}
    try:
        row = Comment.objects.filter(pk=comment_id).values("author_id", "author__username", "body").first()
    except Exception:
        logger.warning("comment lookup failed for %s", comment_id, exc_info=True)
        return {}
    if not row:
        return {}
    return {"author_id": row["author_id"], "author": row["author__username"] or "", "excerpt": _excerpt(row["body"])}


def category_name(category_id: int) -> str:
    Category = _model("forum", "Category")
    if Category is None:
        return ""
    try:
        return Category.objects.filter(pk=category_id).values_list("name", flat=True).first() or ""
    except Exception:
        return ""


def achievement_context(achievement_id: int) -> dict[str, Any]:
    Achievement = _model("gamification", "Achievement")
    ctx: dict[str, Any] = {"achievement_id": achievement_id, "achievement": "a new achievement"}
    if Achievement is not None:
        try:
            row = Achievement.objects.filter(pk=achievement_id).values("name", "description").first()
            if row:
                ctx.update(achievement=row["name"], achievement_description=row.get("description") or "")
        except Exception:
            logger.warning("achievement lookup failed for %s", achievement_id, exc_info=True)
    return ctx


def price_alert_context(alert_id: int, snapshot_id: int) -> dict[str, Any]:
    ctx: dict[str, Any] = {"alert_id": alert_id, "snapshot_id": snapshot_id, "symbol": settings.TOKEN_SYMBOL}
    Snapshot = _model("market", "MarketSnapshot")
    if Snapshot is not None:
        try:
            price = Snapshot.objects.filter(pk=snapshot_id).values_list("price_usd", flat=True).first()
            if price is not None:
                ctx["price_usd"] = str(price)
        except Exception:
            logger.warning("snapshot lookup failed for %s", snapshot_id, exc_info=True)
    Alert = _model("market", "PriceAlert")
    if Alert is not None:
        try:
            alert = Alert.objects.filter(pk=alert_id).first()
            if alert is not None:
                ctx["alert_description"] = str(alert)
        except Exception:
            logger.warning("alert lookup failed for %s", alert_id, exc_info=True)
    ctx.setdefault("price_usd", "?")
    return ctx


def milestone_context(milestone_id: int) -> dict[str, Any]:
    ctx: dict[str, Any] = {"milestone_id": milestone_id, "label": "a new market milestone", "market_cap_usd": ""}
    Milestone = _model("market", "MarketMilestone")
    if Milestone is not None:
        try:
            row = Milestone.objects.filter(pk=milestone_id).values("label", "market_cap_usd").first()
            if row:
                ctx.update(label=row["label"], market_cap_usd=str(row["market_cap_usd"]))
        except Exception:
            logger.warning("milestone lookup failed for %s", milestone_id, exc_info=True)
    return ctx


# -- handlers (run in the Celery task; ids in) ---------------------------------------------------
HANDLERS: dict[str, Callable[..., None]] = {}  # event class name -> handler
EVENT_TYPES: list[type[DomainEvent]] = []  # what receivers.SUBSCRIPTIONS subscribes to


CONDITIONS: dict[str, Callable[..., bool]] = {}  # event class name -> "does it notify anyone?"


def handles(
    event_type: type[DomainEvent], *, when: Callable[..., bool] | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Make the decorated function the handler of `event_type` (and subscribe to the event).
    `when(**fields)`, if given, says from the event alone whether the handler has anything to do:
    an event it rejects is neither queued nor handled."""

    def register(handler: Callable[..., None]) -> Callable[..., None]:
        HANDLERS[event_type.__name__] = handler
        if when is not None:
            CONDITIONS[event_type.__name__] = when
        EVENT_TYPES.append(event_type)
        return handler

    return register


def notifies(event_name: str, fields: dict[str, Any]) -> bool:
    condition = CONDITIONS.get(event_name)
    return condition is None or condition(**fields)


@handles(PostCreated)
def on_post_created(post_id: int, author_id: int, category_id: int) -> None:
    services.auto_watch(user_id=author_id, target_type=TargetType.THREAD, target_id=post_id)
    info = post_info(post_id)
    ctx = {"post_id": post_id, "category_id": category_id, "category": category_name(category_id), **info}
    ctx.pop("post_author_id", None)
    watchers = selectors.watchers(target_type=TargetType.CATEGORY, target_id=category_id, exclude=[author_id])
    for user_id in access.readers_of_post(watchers, post_id):
        services.notify(
            user_id,
            "watched_post",
            context=ctx,
            actor_id=author_id,
            dedupe_key=f"post:{post_id}",
            scope={"category": category_id, "thread": post_id},
        )


@handles(CommentCreated)
def on_comment_created(
    comment_id: int, post_id: int, author_id: int, category_id: int, parent_id: int | None = None
) -> None:
    post = _notice_post(post_id)
    info = {"post_title": post.title, "post_author_id": post.author_id} if post is not None else post_info(post_id)
    comment = comment_info(comment_id)
    ctx = {
        "post_id": post_id,
        "comment_id": comment_id,
        "category_id": category_id,
        "post_title": info.get("post_title", ""),
        "excerpt": comment.get("excerpt", ""),
    }
    if comment.get("author") and comment.get("author_id") == author_id:
        ctx["actor"] = comment["author"]  # read with the comment: each notify below needs it
    scope = {"category": category_id, "thread": post_id}
    told = {author_id}
    parent_author = comment_info(parent_id).get("author_id") if parent_id else None
    post_author = info.get("post_author_id")
    watchers = selectors.watchers(target_type=TargetType.THREAD, target_id=post_id, exclude=told)
    # Only those who may read the thread now hear of it: access can have shrunk since they watched.
    readers = access.readers_of_post({parent_author, post_author, *watchers} - {None}, post_id, post=post)
    if parent_author in readers and parent_author not in told:
        services.notify(
            parent_author,
            "reply_to_comment",
            context={**ctx, "parent_id": parent_id},
            actor_id=author_id,
            dedupe_key=f"comment:{comment_id}",
            scope=scope,
        )
        told.add(parent_author)
    if post_author in readers and post_author not in told:
        services.notify(
            post_author,
            "reply_to_post",
            context=ctx,
            actor_id=author_id,
            dedupe_key=f"comment:{comment_id}",
            scope=scope,
        )
        told.add(post_author)
    for user_id in watchers:
        if user_id in readers and user_id not in told:
            services.notify(
                user_id, "watched_reply", context=ctx, actor_id=author_id, group_key=f"thread:{post_id}", scope=scope
            )


@handles(UserMentioned)
def on_user_mentioned(mentioned_user_id: int, author_id: int, post_id: int, comment_id: int | None = None) -> None:
    # Mentioned where they cannot read: nothing, not even the title.
    if mentioned_user_id not in access.readers_of_post({mentioned_user_id}, post_id):
        return
    info = post_info(post_id)
    ctx = {
        "post_id": post_id,
        "comment_id": comment_id,
        "post_title": info.get("post_title", ""),
        "anchor": f"#comment-{comment_id}" if comment_id else "",
        "excerpt": comment_info(comment_id).get("excerpt", "") if comment_id else "",
    }
    services.notify(
        mentioned_user_id,
        "mention",
        context=ctx,
        actor_id=author_id,
        dedupe_key=f"mention:{post_id}:{comment_id or 0}",
        scope={"thread": post_id},
    )


def _new_upvote(*, old_value: int, new_value: int, **_fields) -> bool:
    return new_value == 1 and old_value != 1  # downvotes and retractions never notify


@handles(VoteChanged, when=_new_upvote)
def on_vote_changed(
    target_type: str,
    target_id: int,
    target_author_id: int,
    voter_id: int,
    old_value: int,
    new_value: int,
    post_id: int,
    category_id: int,
) -> None:
    ctx = {
        "target": target_type,
        "target_id": target_id,
        "post_id": post_id,
        "anchor": f"#comment-{target_id}" if target_type == "comment" else "",
        "post_title": post_info(post_id).get("post_title", ""),
    }
    services.notify(
        target_author_id,
        "vote",
        context=ctx,
        actor_id=voter_id,
        group_key=f"vote:{target_type}:{target_id}",
        scope={"category": category_id, "thread": post_id},
    )


@handles(AchievementUnlocked)
def on_achievement_unlocked(user_id: int, achievement_id: int) -> None:
    services.notify(
        user_id, "achievement_unlocked", context=achievement_context(achievement_id), dedupe_key=f"ach:{achievement_id}"
    )


@handles(LevelUp)
def on_level_up(user_id: int, old_level: int, new_level: int, category_id: int | None = None) -> None:
    if new_level > old_level:
        services.notify(
            user_id, "level_up", context={"old_level": old_level, "new_level": new_level}, dedupe_key=f"lvl:{new_level}"
        )


@handles(HolderTierChanged)
def on_holder_tier_changed(user_id: int, old_tier: str, new_tier: str) -> None:
    services.notify(user_id, "holder_tier_changed", context={"old_tier": old_tier, "new_tier": new_tier})


@handles(PriceAlertTriggered)
def on_price_alert(alert_id: int, user_id: int, snapshot_id: int) -> None:
    services.notify(
        user_id,
        "price_alert",
        context=price_alert_context(alert_id, snapshot_id),
        dedupe_key=f"alert:{alert_id}:{snapshot_id}",
    )


@handles(MilestoneReached)
def on_milestone_reached(milestone_id: int) -> None:
    services.announce_type(type="market_milestone", context=milestone_context(milestone_id), key=str(milestone_id))


@handles(PostDeleted)
def on_post_deleted(post_id: int, author_id: int, by_moderator: bool = False) -> None:
    if by_moderator:
        title = post_info(post_id).get("post_title", "")
        services.notify(
            author_id,
            "moderation_action",
            context={"action": "removed your post", "post_id": post_id, "reason": title, "link": ""},
            dedupe_key=moderation_dedupe_key("post", post_id, "remove"),
        )


@handles(CommentDeleted)
def on_comment_deleted(comment_id: int, post_id: int, author_id: int, by_moderator: bool = False) -> None:
    if by_moderator:
        services.notify(
            author_id,
            "moderation_action",
            context={"action": "removed your comment", "post_id": post_id, "link": f"/posts/{post_id}"},
            dedupe_key=moderation_dedupe_key("comment", comment_id, "remove"),
        )


@handles(UserSuspended)
def on_user_suspended(user_id: int, by_user_id: int | None, until: str | None, reason: str = "") -> None:
    action = f"suspended your account until {until}" if until else "suspended your account"
    services.notify(user_id, "moderation_action", context={"action": action, "reason": reason, "link": ""})


# What a moderator's action says to the affected member. Suspensions and bans are told through
# UserSuspended; queue bookkeeping (claim, dismiss, ...) tells the author nothing.
MODERATION_ACTION_TEXT = {
    "hide": "hid your {what}",
    "auto_hide": "hid your {what} pending review",
    "remove": "removed your {what}",
    "restore": "restored your {what}",
    "lock": "locked your {what}",
    "unlock": "unlocked your {what}",
    "pin": "pinned your {what}",
    "warn": "sent you a warning about your {what}",
}


def moderation_dedupe_key(target_type: str, target_id: int, action: str) -> str:
    # A removal shares its key with PostDeleted/CommentDeleted(by_moderator) so one act is one notice.
    return f"mod:{target_type}:{target_id}" if action == "remove" else f"mod:{target_type}:{target_id}:{action}"


@handles(ContentModerated)
def on_content_moderated(
    target_type: str,
    target_id: int,
    author_id: int | None,
    action: str,
    reason: str = "",
    moderator_id: int | None = None,
    post_id: int | None = None,
) -> None:
    template = MODERATION_ACTION_TEXT.get(action)
    if not author_id or template is None:
        return
    what = {"post": "post", "comment": "comment"}.get(target_type, "account")
    link = f"/posts/{post_id}" if post_id and action not in ("remove",) else ""
    services.notify(
        author_id,
        "moderation_action",
        context={"action": template.format(what=what), "post_id": post_id, "reason": reason, "link": link},
        dedupe_key=moderation_dedupe_key(target_type, target_id, action),
    )


def handle(event_name: str, fields: dict[str, Any]) -> None:
    """Run the handler of one event (ids only)."""
    if notifies(event_name, fields):
        HANDLERS[event_name](**fields)
