"""Periodic housekeeping for accounts."""

from celery import shared_task

from apps.accounts import services


@shared_task(name="accounts.purge_sessions", ignore_result=True)
def purge_sessions() -> int:
    return services.sessions_purge()
