"""Celery tasks: thin, idempotent, ids in."""

from __future__ import annotations

from celery import shared_task

from apps.notifications import selectors, services


@shared_task(name="notifications.send_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(notification_id: int) -> bool:
    return services.send_notification_email(notification_id=notification_id)


@shared_task(name="notifications.send_digest", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_digest(user_id: int, frequency: str) -> int:
    return services.send_digest(user_id=user_id, frequency=frequency)


@shared_task(name="notifications.send_digests")
def send_digests(frequency: str) -> int:
    users = selectors.digest_recipients(frequency=frequency)
    for user_id in users:
        send_digest.delay(user_id, frequency)
    return len(users)


@shared_task(name="notifications.purge")
def purge() -> int:
    return services.purge_notifications()
