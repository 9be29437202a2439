"""What realtime does when other areas' events happen."""

from __future__ import annotations

from apps.accounts.events import RoleChanged, SessionsEnded, UserSuspended
from apps.core import push
from apps.privacy.events import AccountDeleted
from apps.wallet.events import HolderTierChanged


def on_account_deleted(event) -> None:
    # Tell the account's own clients, then close their sockets (their tokens no longer work).
    push.broadcast_now(f"user:{event.user_id}", "account.deleted", {"user_id": event.user_id})
    push.close_user_sockets_now(event.user_id, reason="deleted")


def on_sessions_ended(event) -> None:
    """Logout, revocation, replay, password change or reset: the ended sessions' sockets close."""
    push.close_user_sockets_now(
        event.user_id,
        session_ids=list(event.session_ids) or None,
        except_session_id=event.except_session_id,
        reason=event.reason,
    )


def on_user_suspended(event) -> None:
    # A suspended or banned account may not act: every socket of it closes, whatever its session.
    push.close_user_sockets_now(event.user_id, reason="suspended")


def on_standing_changed(event) -> None:
    # A role or holder tier decides what a socket may receive: its open sockets re-read it now.
    push.refresh_user_sockets_now(event.user_id, reason=type(event).__name__)


SUBSCRIPTIONS = [
    (AccountDeleted, on_account_deleted),
    (SessionsEnded, on_sessions_ended),
    (UserSuspended, on_user_suspended),
    (RoleChanged, on_standing_changed),
    (HolderTierChanged, on_standing_changed),
]
