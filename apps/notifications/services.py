"""Every write of the notifications area: create (with consolidation and idempotency), read state,
deletion, settings, subscriptions, email delivery and retention."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core import push
from apps.core.exceptions import NotFound, ValidationFailed
from apps.notifications import access, types
from apps.notifications.models import (
    EmailFrequency,
    Level,
    Notification,
    NotificationSettings,
    Subscription,
    TargetType,
)
from apps.notifications.payloads import notification_payload
from apps.notifications.selectors import (
    BULK_FRAMES,
    active_settings_for,
    channels_for,
    in_dnd,
    is_muted,
    settings_for,
    unread_count,
)

logger = logging.getLogger(__name__)
MAX_ACTORS = 500  # who is already counted (a re-vote is not one more); newest first


# -- creating ------------------------------------------------------------------------------------
def notify(
    user_id: int,
    type: str,
    *,
    context: dict[str, Any] | None = None,
    actor_id: int | None = None,
    group_key: str | None = None,
    dedupe_key: str | None = None,
    scope: dict[str, int | None] | None = None,
) -> Notification | None:
    """Notify one user, honouring their settings, mutes and do-not-disturb.

    `context` fills the type's templates and becomes the notification's `data` (ids, short
    strings). `group_key` consolidates (only for types with `title_many`); `dedupe_key` makes a
    retried delivery a no-op. Returns the row, or None when nothing was (re)created.
    """
    try:
        kind = types.get(type)
    except KeyError:
        raise ValueError(f"unknown notification type {type!r}") from None
    if actor_id is not None and actor_id == user_id:
        return None  # nobody is told about their own doing
    prefs = active_settings_for(user_id)
    if prefs is None:
        return None  # closed accounts (and the deleted-user account holding their posts) get nothing
    want_in_app, want_email = channels_for(prefs, kind)
    want_email = want_email and prefs.email_frequency != EmailFrequency.OFF
    if not (want_in_app or want_email):
        return None
    if kind.content and is_muted(user_id, actor_id=actor_id, scope=scope):
        return None
    ctx: dict[str, Any] = {"user_id": user_id, **(context or {})}
    if actor_id is not None:
        ctx.setdefault("actor_id", actor_id)
        if "actor" not in ctx:
            ctx["actor"] = get_user_model().objects.filter(pk=actor_id).values_list("username", flat=True).first() or ""
    now = timezone.now()

    with transaction.atomic():
        notification = None
        if kind.consolidates and group_key:
            notification = _consolidate(user_id, kind, group_key, actor_id, ctx, now)
            if notification is False:
                return None
        if notification is None:
            notification = Notification(
                user_id=user_id,
                type=kind.key,
                title=types.render(kind.title, ctx)[:300],
                body=types.render(kind.body, ctx)[:2000],
                link=types.render(kind.link, ctx)[:500],
                data=ctx,
                group_key=group_key if kind.consolidates else None,
                dedupe_key=dedupe_key,
                actor_ids=[actor_id] if actor_id else [],
                in_app=want_in_app,
                email_wanted=want_email,
                created_at=now,
                expires_at=now + timedelta(days=kind.retention_days),
            )
            try:
                with transaction.atomic():
                    notification.save()
            except IntegrityError:
                if dedupe_key and Notification.objects.filter(user_id=user_id, dedupe_key=dedupe_key).exists():
                    return None  # delivered before: a retried event
                if kind.consolidates and group_key:  # a concurrent first vote won the race
                    notification = _consolidate(user_id, kind, group_key, actor_id, ctx, now)
                    if not notification:
                        return None
                else:
                    raise
        _deliver(notification, prefs, want_in_app, want_email)
    return notification


def _consolidate(user_id, kind, group_key, actor_id, ctx, now) -> Notification | None | bool:
    """Fold into the unread row of this group: None if there is none, False if nothing changes."""
    existing = (
        Notification.objects.select_for_update()
        .filter(user_id=user_id, group_key=group_key, read_at__isnull=True)
        .first()
    )
    if existing is None:
        return None
    if actor_id is not None and actor_id in existing.actor_ids:
        return False  # the same person again (re-vote): not one more
    existing.count += 1
    existing.actor_ids = ([actor_id] if actor_id else []) + existing.actor_ids[: MAX_ACTORS - 1]
    data = {**existing.data, **ctx, "count": existing.count}
    existing.data = data
    existing.title = types.render(kind.title_many or kind.title, data)[:300]
    existing.created_at = now
    existing.save(update_fields=["count", "actor_ids", "data", "title", "created_at"])
    return existing


def _deliver(notification: Notification, prefs: NotificationSettings, in_app: bool, email: bool) -> None:
    dnd = in_dnd(prefs)
    if in_app and not dnd:
        push.broadcast(
            f"user:{notification.user_id}",
            "notification.created",
            {"notification": notification_payload(notification), "unread_count": unread_count(notification.user_id)},
        )
    if email and not dnd and prefs.email_frequency == EmailFrequency.IMMEDIATE and notification.emailed_at is None:
        from apps.notifications.tasks import send_notification_email

        notification_id = notification.pk
        transaction.on_commit(lambda: send_notification_email.delay(notification_id))


def notify_many(user_ids: Iterable[int], type: str, **kwargs: Any) -> int:
    """Notify several users (each with their own settings); returns how many were notified."""
    sent = 0
    for user_id in user_ids:
        if notify(user_id, type, **kwargs) is not None:
            sent += 1
    return sent


def announce(*, title: str, body: str = "", link: str = "", key: str) -> int:
    """A system announcement to every active user, once per `key` (idempotent), in bulk."""
    return announce_type(type=types.ANNOUNCEMENT.key, context={"title": title, "body": body, "link": link}, key=key)


@transaction.atomic
def announce_type(*, type: str, context: dict[str, Any], key: str) -> int:
    """One notification of `type` to every active user who has not turned it off, in bulk, pushed
    after commit to whoever is connected (`selectors.bulk_frames`). Idempotent per `key`."""
    kind = types.get(type)
    dedupe_key = f"{kind.key}:{key}"[:160]
    if Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return 0  # sent before (a retried task or command): no second row, no second push
    now = timezone.now()
    ctx = dict(context)
    title, body, link = types.render(kind.title, ctx), types.render(kind.body, ctx), types.render(kind.link, ctx)
    disabled_in_app, email_on, has_row = set(), set(), set()
    for user_id, chosen, freq in NotificationSettings.objects.values_list("user_id", "types", "email_frequency"):
        has_row.add(user_id)
        pick = (chosen or {}).get(kind.key) or {}
        if not pick.get("in_app", kind.in_app):
            disabled_in_app.add(user_id)
        if pick.get("email", kind.email) and freq != EmailFrequency.OFF:
            email_on.add(user_id)
    users = get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
    rows = [
        Notification(
            user_id=uid,
            type=kind.key,
            title=title[:300],
            body=body[:2000],
            link=link[:500],
            data=ctx,
            dedupe_key=dedupe_key,
            in_app=uid not in disabled_in_app,
            # Users without a settings row take the type's defaults.
            email_wanted=(uid in email_on) if uid in has_row else kind.email,
            created_at=now,
            expires_at=now + timedelta(days=kind.retention_days),
        )
        for uid in users.iterator()
        if uid not in disabled_in_app or uid in email_on or (uid not in has_row and kind.email)
    ]
    created = Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    # Pushed to the users connected right now, by the processes holding their sockets.
    push.broadcast_per_user(BULK_FRAMES, {"dedupe_key": dedupe_key})
    return len(created)


# -- read state and deletion ---------------------------------------------------------------------
def _owned(user, notification_id: Any) -> Notification:
    try:
        return Notification.objects.get(pk=int(notification_id), user=user, in_app=True)
    except (Notification.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound("Notification not found.") from None


def _announce_count(user_id: int) -> None:
    transaction.on_commit(
        lambda: push.broadcast_now(
            f"user:{user_id}", "notification.unread_count", {"unread_count": unread_count(user_id)}
        )
    )


@transaction.atomic
def notification_set_read(*, user, notification_id: Any, read: bool) -> Notification:
    notification = _owned(user, notification_id)
    target = timezone.now() if read else None
    if notification.read != read:
        if not read and notification.group_key:
            # Unreading must not create a second unread row of the same group.
            Notification.objects.filter(user=user, group_key=notification.group_key, read_at__isnull=True).exclude(
                pk=notification.pk
            ).update(read_at=timezone.now())
        notification.read_at = target
        notification.save(update_fields=["read_at"])
        _announce_count(user.pk)
    return notification


@transaction.atomic
def notifications_mark_read(*, user, ids: list[int] | None = None, all: bool = False) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True, in_app=True)
    if not all:
        qs = qs.filter(pk__in=ids or [])  # other users' ids simply match nothing
    updated = qs.update(read_at=timezone.now())
    if updated:
        _announce_count(user.pk)
    return updated


@transaction.atomic
def notification_delete(*, user, notification_id: Any) -> None:
    notification = _owned(user, notification_id)
    was_unread = not notification.read
    notification.delete()
    if was_unread:
        _announce_count(user.pk)


def record_visit(*, user) -> None:
    """Remember when the user last looked (digests go only to people who have not visited since).
    One statement, and a no-op write when the last visit is under five minutes old."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notification_settings (user_id, types, email_frequency, last_visit_at, updated_at)
            VALUES (%s, '{}'::jsonb, %s, now(), now())
            ON CONFLICT (user_id) DO UPDATE SET last_visit_at = EXCLUDED.last_visit_at
            WHERE notification_settings.last_visit_at IS NULL
               OR notification_settings.last_visit_at < now() - interval '5 minutes'
            """,
            [user.pk, EmailFrequency.DAILY],
        )


# -- settings and subscriptions ------------------------------------------------------------------
@transaction.atomic
def settings_update(
    *,
    user,
    types_: dict[str, dict[str, bool]] | None = None,
    email_frequency: str | None = None,
    dnd_until: datetime | None | object = ...,
) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.select_for_update().get_or_create(user=user)
    if types_:
        unknown = sorted(set(types_) - set(types.REGISTRY))
        if unknown:
            raise ValidationFailed(
                "Unknown notification type.", details={"types": [f"Unknown type: {k}" for k in unknown]}
            )
        merged = dict(prefs.types or {})
        for key, channels in types_.items():
            merged[key] = {**merged.get(key, {}), **channels}
        prefs.types = merged
    if email_frequency is not None:
        prefs.email_frequency = email_frequency
    if dnd_until is not ...:
        prefs.dnd_until = dnd_until
    prefs.save()
    return prefs


@transaction.atomic
def subscription_set(*, user, target_type: str, target_id: int, level: str | None) -> Subscription | None:
    """Set the level on a category, thread or user; `None` (or "normal") returns to the default."""
    if target_type == TargetType.USER and target_id == user.pk:
        raise ValidationFailed("You cannot subscribe to yourself.", details={"target_id": ["That is you."]})
    if target_type == TargetType.USER and not get_user_model().objects.filter(pk=target_id).exists():
        raise NotFound("No such user.")
    if level not in (None, "normal") and not access.can_subscribe(user, target_type, target_id):
        raise NotFound(f"No such {target_type}.")  # unreadable answers like absent: ids cannot be probed
    if level in (None, "normal"):
        Subscription.objects.filter(user=user, target_type=target_type, target_id=target_id).delete()
        return None
    subscription, _ = Subscription.objects.update_or_create(
        user=user, target_type=target_type, target_id=target_id, defaults={"level": level}
    )
    return subscription


def auto_watch(*, user_id: int, target_type: str, target_id: int) -> None:
    """Watch something you created, unless you already chose a level for it."""
    Subscription.objects.get_or_create(
        user_id=user_id, target_type=target_type, target_id=target_id, defaults={"level": Level.WATCH}
    )


# -- email ---------------------------------------------------------------------------------------
def _site() -> dict[str, str]:
    return {"site_url": settings.NOTIFICATIONS_SITE_URL.rstrip("/"), "site_name": settings.NOTIFICATIONS_SITE_NAME}


def _claim_for_email(ids: list[int]) -> list[int]:
    """Mark rows emailed before sending, so a retried task never sends twice."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications SET emailed_at = now() WHERE id = ANY(%s) AND emailed_at IS NULL RETURNING id",
            [ids],
        )
        return [row[0] for row in cursor.fetchall()]


def send_notification_email(*, notification_id: int) -> bool:
    notification = (
        Notification.objects.select_related("user")
        .filter(pk=notification_id, email_wanted=True, read_at__isnull=True)
        .first()
    )
    if notification is None or not _can_email(notification.user):
        return False
    if not _claim_for_email([notification.pk]):
        return False
    context = {**_site(), "user": notification.user, "notification": notification}
    message = EmailMultiAlternatives(
        subject=f"{notification.title}",
        body=render_to_string("notifications/email/notification.txt", context),
        to=[notification.user.email],
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    try:
        message.send()
    except Exception:
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)  # let the retry send it
        raise
    return True


def _can_email(user) -> bool:
    return bool(user.is_active and user.email and user.email_verified)


def send_digest(*, user_id: int, frequency: str) -> int:
    """One digest email of the unread, not yet emailed notifications that arrived after the user's
    last visit. Nothing is sent to people who came back since."""
    user = get_user_model().objects.select_related("profile").filter(pk=user_id).first()
    if user is None or not _can_email(user):
        return 0
    prefs = settings_for(user_id)
    if prefs.email_frequency != frequency or in_dnd(prefs):
        return 0
    seen = [t for t in (prefs.last_visit_at, getattr(getattr(user, "profile", None), "last_seen_at", None)) if t]
    last_visit = max(seen) if seen else None
    pending = Notification.objects.filter(
        user_id=user_id, email_wanted=True, emailed_at__isnull=True, read_at__isnull=True
    )
    if last_visit is not None:
        pending = pending.filter(created_at__gt=last_visit)
    rows = list(pending.order_by("-created_at", "-id")[:50])
    if not rows:
        return 0
    claimed = set(_claim_for_email([n.pk for n in rows]))
    rows = [n for n in rows if n.pk in claimed]
    if not rows:
        return 0
    context = {**_site(), "user": user, "notifications": rows, "frequency": frequency}
    subject = f"Your {frequency} Success Kid digest: {len(rows)} new notification{'s' if len(rows) != 1 else ''}"
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("notifications/email/digest.txt", context), to=[user.email]
    )
    message.attach_alternative(render_to_string("notifications/email/digest.html", context), "text/html")
    try:
        message.send()
    except Exception:
        Notification.objects.filter(pk__in=claimed).update(emailed_at=None)
        raise
    NotificationSettings.objects.update_or_create(user_id=user_id, defaults={"last_digest_at": timezone.now()})
    return len(rows)


# -- retention -----------------------------------------------------------------------------------
def purge_notifications(*, keep_per_user: int | None = None) -> int:
    """Drop expired notifications and keep at most `keep_per_user` (newest) per user."""
    keep = keep_per_user or settings.NOTIFICATIONS_MAX_PER_USER
    expired, _ = Notification.objects.filter(expires_at__lt=timezone.now()).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM notifications WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS rn
                    FROM notifications
                ) ranked WHERE rn > %s
            )
            """,
            [keep],
        )
        surplus = cursor.rowcount
    return expired + surplus
