"""What realtime does when other areas' events happen."""

from __future__ import annotations

from apps.core import events, realtime


def on_account_deleted(event) -> None:
    # Open sockets of the account close by themselves when their access token expires (they can
    # no longer renew it); this tells the account's own clients at once.
    realtime.broadcast_now(f"user:{event.user_id}", "account.deleted", {"user_id": event.user_id})


def connect() -> None:
    from apps.privacy.events import AccountDeleted

    events.subscribe(AccountDeleted, on_account_deleted)
