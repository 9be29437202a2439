"""Reads of the notifications area: lists, preferences and mutes, counts, watchers, digest
recipients, and the per-user frames of a bulk notification."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.notifications import types
from apps.notifications.models import (
    EmailFrequency,
    Level,
    Notification,
    NotificationSettings,
    Subscription,
    TargetType,
)
from apps.notifications.payloads import notification_payload

BULK_FRAMES = "notifications.bulk"


def notification_list(*, user, unread: bool | None = None, type: str | None = None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user, in_app=True)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if type:
        qs = qs.filter(type=type)
    return qs


def subscription_list(*, user, target_type: str | None = None, level: str | None = None) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(user=user)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if level:
        qs = qs.filter(level=level)
    return qs


# -- preferences ---------------------------------------------------------------------------------
def settings_for(user_id: int) -> NotificationSettings:
    """The user's settings (an unsaved default row when they never changed anything)."""
    found = NotificationSettings.objects.filter(user_id=user_id).first()
    return found or NotificationSettings(user_id=user_id)


def active_settings_for(user_id: int) -> NotificationSettings | None:
    """`settings_for` an active account, None for a closed one, in one query."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ObjectDoesNotExist

    user = (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True)
        .select_related("notification_settings")
        .only("pk", *(f"notification_settings__{f.attname}" for f in NotificationSettings._meta.concrete_fields))
        .first()
    )
    if user is None:
        return None
    try:
        return user.notification_settings
    except ObjectDoesNotExist:
        return NotificationSettings(user_id=user_id)


def channels_for(prefs: NotificationSettings, kind: types.NotificationType) -> tuple[bool, bool]:
    chosen = (prefs.types or {}).get(kind.key) or {}
    return bool(chosen.get("in_app", kind.in_app)), bool(chosen.get("email", kind.email))


def is_muted(user_id: int, *, actor_id: int | None, scope: dict[str, int | None] | None) -> bool:
    """Muted actor, thread or category (a thread's own level wins over its category's)."""
    targets = Q()
    if actor_id:
        targets |= Q(target_type=TargetType.USER, target_id=actor_id)
    scope = scope or {}
    if scope.get("thread"):
        targets |= Q(target_type=TargetType.THREAD, target_id=scope["thread"])
    if scope.get("category"):
        targets |= Q(target_type=TargetType.CATEGORY, target_id=scope["category"])
    if not targets:
        return False
    levels = dict(
        Subscription.objects.filter(targets, user_id=user_id).values_list("target_type", "level")
    )  # at most three rows
    if levels.get(TargetType.USER) == Level.MUTE:
        return True
    if TargetType.THREAD in levels:
        return levels[TargetType.THREAD] == Level.MUTE
    return levels.get(TargetType.CATEGORY) == Level.MUTE


def in_dnd(prefs: NotificationSettings, now: datetime | None = None) -> bool:
    return prefs.dnd_until is not None and prefs.dnd_until > (now or timezone.now())


def unread_count(user_id: int) -> int:
    # Served by the partial index notifications_unread_idx (read_at IS NULL AND in_app).
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True, in_app=True).count()


def watchers(*, target_type: str, target_id: int, exclude: Iterable[int] = ()) -> list[int]:
    return list(
        Subscription.objects.filter(target_type=target_type, target_id=target_id, level=Level.WATCH)
        .exclude(user_id__in=list(exclude))
        .values_list("user_id", flat=True)
    )


def digest_recipients(*, frequency: str) -> list[int]:
    """Users on this digest frequency with something to send (one indexed query)."""
    qs = Notification.objects.filter(email_wanted=True, emailed_at__isnull=True, read_at__isnull=True)
    if frequency == EmailFrequency.DAILY:
        # Users without a settings row are on the default frequency (daily).
        qs = qs.filter(
            Q(user__notification_settings__email_frequency=frequency) | Q(user__notification_settings__isnull=True)
        )
    else:
        qs = qs.filter(user__notification_settings__email_frequency=frequency)
    return list(qs.values_list("user_id", flat=True).distinct())


# -- socket frames -------------------------------------------------------------------------------
def bulk_frames(payload: dict, user_ids: list[int]) -> dict[int, tuple[str, dict]]:
    """`notification.created` frames of one bulk notification for these (connected) users, as
    a single delivery would push them one by one: not to users in do-not-disturb, nor where it is
    not in-app or already read. Three queries for any number of users."""
    rows = list(
        Notification.objects.filter(
            dedupe_key=payload.get("dedupe_key"), user_id__in=user_ids, in_app=True, read_at__isnull=True
        )
    )
    if not rows:
        return {}
    now = timezone.now()
    quiet = set(
        NotificationSettings.objects.filter(user_id__in=user_ids, dnd_until__gt=now).values_list("user_id", flat=True)
    )
    counts = dict(
        Notification.objects.filter(user_id__in=[n.user_id for n in rows], read_at__isnull=True, in_app=True)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    return {
        n.user_id: (
            "notification.created",
            {"notification": notification_payload(n), "unread_count": counts.get(n.user_id, 0)},
        )
        for n in rows
        if n.user_id not in quiet
    }
