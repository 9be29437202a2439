"""Row-level security: who the database thinks is asking.

Every user-private table (the list is `PRIVATE_TABLES`, the policies are in
`apps/core/migrations/0003_row_level_security.py`) has FORCE ROW LEVEL SECURITY and policies that
compare the row's owner with two transaction-local settings:

    app.user_id   the signed-in user; set once per request right after authentication (`set_user`)
    app.system    'on' inside `system_context(reason)`: Celery jobs, event receivers, the admin,
                  and cross-user writes the domain needs (a vote notifies the author, ...)

Both are set with `set_config(name, value, true)`, so they end with the transaction: safe on a
pooled connection and behind PgBouncer in transaction mode. Each request runs in one transaction
(ATOMIC_REQUESTS); outside a transaction there is no context and private tables look empty.

Every `system_context` is audited: a structured log line (`rls.system_context`, with the reason)
and the Prometheus counter `sk_rls_system_context_total{reason}`. Reasons are short constants (a
task name, an event name), never user input.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
from django.db import connections, transaction

from apps.core import db_router

logger = logging.getLogger("successkid.rls")
# Every system context, routine ones included (one per seeded reference row at start-up, one per
# event receiver): its own logger, quiet on the console unless RLS_AUDIT_LOG_LEVEL=INFO.
audit_logger = logging.getLogger("successkid.rls.audit")

USER_SETTING = "app.user_id"
SYSTEM_SETTING = "app.system"


@dataclass(frozen=True)
class PrivateTable:
    """A table under RLS. `owner` is the SQL expression (over the row) that must match the user;
    `public_read` leaves SELECT open to everyone (the data is public through the API) while every
    write stays the owner's or the system's; `system_write` allows writes only to the system."""

    name: str
    owner: str
    why: str
    public_read: bool = False
    system_write: bool = False
    also_open: str = ""  # rows matching this SQL belong to no one yet


_ME = "NULLIF(current_setting('app.user_id', true), '')::bigint"
_SYSTEM = "current_setting('app.system', true) = 'on'"

# The documented list (README "Row-level security"); tests/security/test_rls.py checks each one is
# forced, and that no other table with a user column is forgotten by accident.
PRIVATE_TABLES: tuple[PrivateTable, ...] = (
    PrivateTable("notifications", "user_id", "a user's inbox"),
    PrivateTable("notification_settings", "user_id", "a user's delivery preferences"),
    PrivateTable("subscriptions", "user_id", "what a user follows"),
    PrivateTable("sessions", "user_id", "sign-in sessions: device, IP, refresh-token family"),
    PrivateTable("drafts", "author_id", "unpublished writing"),
    PrivateTable("activity_log", "user_id", "what a user did, with IP hashes"),
    PrivateTable("wallet_connections", "user_id", "wallets a user linked (shown to others only by choice)"),
    PrivateTable(
        "token_balances",
        "(SELECT w.user_id FROM wallet_connections w WHERE w.id = wallet_id)",
        "holdings of a user's wallets (shown only by choice)",
    ),
    PrivateTable(
        "token_balance_history",
        "(SELECT w.user_id FROM wallet_connections w WHERE w.id = wallet_id)",
        "past holdings of a user's wallets",
    ),
    PrivateTable("transactions", "user_id", "a user's on-chain token transfers"),
    PrivateTable(
        "wallet_sync_cursors",
        "(SELECT w.user_id FROM wallet_connections w WHERE w.id = wallet_id)",
        "which token accounts of a user's wallets were read, and how far",
    ),
    PrivateTable(
        "wallet_siws_challenges",
        "user_id",
        "link challenges belong to a user; sign-in challenges (no user yet) are open until used",
        also_open="user_id IS NULL",
    ),
    PrivateTable("market_price_alerts", "user_id", "a user's price alerts"),
    PrivateTable(
        "market_price_alert_triggers",
        "(SELECT a.user_id FROM market_price_alerts a WHERE a.id = alert_id)",
        "when a user's alerts fired",
    ),
    PrivateTable("account_emailaddress", "user_id", "allauth: a user's email addresses"),
    PrivateTable(
        "socialaccount_socialtoken",
        "(SELECT s.user_id FROM socialaccount_socialaccount s WHERE s.id = account_id)",
        "allauth: OAuth access/refresh tokens",
    ),
    PrivateTable("idempotency_keys", "user_id", "a user's recent POSTs and the answers they got (replayed on retry)"),
    PrivateTable(
        "point_transactions",
        "user_id",
        "the points ledger: public through GET /api/users/:id/points, written only by the system",
        public_read=True,
        system_write=True,
    ),
    PrivateTable(
        "user_achievements",
        "user_id",
        "achievements (and progress) are public on profiles; only the system awards them",
        public_read=True,
        system_write=True,
    ),
)


# Tables with a per-user column that are deliberately NOT under RLS, and why (README).
PUBLIC_USER_TABLES: dict[str, str] = {
    "posts": "public content (moderation status is filtered by the API)",
    "comments": "public content",
    "votes": "drive public scores; the API never lists voters, and ranking jobs read them all",
    "profiles": "public profiles; per-field visibility (visibility, show_wallets) is applied by the API",
    "gamification_user_stats": "public totals and levels shown on profiles and leaderboards",
    "gamification_vote_credits": "anti-abuse counters the system keeps per author; never served",
    "leaderboards": "public rankings",
    "realtime_presence": "who is online is public by design",
    "wallet_holder_status": "holder tier badges are public next to every name",
    "media_assets": "uploads are public once linked; ownership is checked by the media service",
    "reports": "read and acted on by moderators (a role, not a database user) through the API",
    "moderation_reporter_stats": "reporter reputation the moderation service reads across users",
    "role_assignments": "role history read by moderators; holds no personal data",
    "socialaccount_socialaccount": "which account a provider uid belongs to, looked up before sign-in;"
    " the OAuth secrets are in socialaccount_socialtoken, which is private",
    "privacy_account_erasures": "operators' record that an account was closed: its id and row counts, no personal"
    " data; written by the system",
    "django_admin_log": "the Django admin's own log, only shown in the admin",
    "users_groups": "Django permissions plumbing",
    "users_user_permissions": "Django permissions plumbing",
}


def policy_sql(table: PrivateTable) -> list[str]:
    """The statements that put `table` under RLS (used by the migration; idempotent)."""
    mine = f"({table.owner}) = {_ME}"
    if table.also_open:
        mine = f"({table.also_open} OR {mine})"
    write = _SYSTEM if table.system_write else f"({_SYSTEM} OR {mine})"
    read = "true" if table.public_read else f"({_SYSTEM} OR {mine})"
    name = table.name
    return [
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS rls_read ON {name}",
        f"DROP POLICY IF EXISTS rls_insert ON {name}",
        f"DROP POLICY IF EXISTS rls_update ON {name}",
        f"DROP POLICY IF EXISTS rls_delete ON {name}",
        f"CREATE POLICY rls_read ON {name} FOR SELECT USING ({read})",
        f"CREATE POLICY rls_insert ON {name} FOR INSERT WITH CHECK ({write})",
        f"CREATE POLICY rls_update ON {name} FOR UPDATE USING ({write}) WITH CHECK ({write})",
        f"CREATE POLICY rls_delete ON {name} FOR DELETE USING ({write})",
    ]


def unpolicy_sql(table: PrivateTable) -> list[str]:
    name = table.name
    return [
        *(f"DROP POLICY IF EXISTS {p} ON {name}" for p in ("rls_read", "rls_insert", "rls_update", "rls_delete")),
        f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY",
    ]


def set_user(user_id: int | str | None) -> None:
    """The signed-in user for the rest of this transaction, on every database connection in one
    (one statement each; a replica transaction the request opens later starts with it, and while a
    request reads from a replica the primary gets it just before its next statement: see
    `apps.core.db_router`). Call it right after authentication, inside the request's transaction;
    outside a transaction there is nothing to set it on and it does nothing. A request starts
    without a system context (a fresh transaction), and this does not end one a caller has opened."""
    value = _user_value(user_id)
    _set_on_others(value, db_router.note_user(value))


_SET_USER_SQL = "SELECT set_config('app.user_id', %s, true)"


def _user_value(user_id: int | str | None) -> str:
    return "" if user_id in (None, "") else str(int(user_id))


def _set_on_others(value: str, primary_deferred: bool, skip: str | None = None) -> None:
    for conn in connections.all(initialized_only=True):
        if conn.alias == skip or (primary_deferred and conn.alias == db_router.PRIMARY):
            continue
        if not conn.in_atomic_block:
            logger.debug("rls.set_user outside a transaction on %s: no effect", conn.alias)
            continue
        with conn.cursor() as cursor:
            cursor.execute(_SET_USER_SQL, [value])


def _set_user_and_fetch(user_id: int | str, sql: str, params: list, *, model) -> list[tuple]:
    """`set_user`, then the read `sql` on the connection the router picks for `model`, which
    therefore already runs as that user; inside a transaction both go in one round trip (two
    statements in one message: client-side binding, Django's default). Returns `sql`'s rows. For a
    request's first statement that needs the context (the sign-in check reads the session)."""
    from django.db import router

    value = _user_value(user_id)
    primary_deferred = db_router.note_user(value)
    using = router.db_for_read(model)  # after note_user: a replica opened now starts as the user
    target = connections[using]
    _set_on_others(value, primary_deferred, skip=using)
    with target.cursor() as cursor:
        # A deferred primary gets the setting from the router just before this statement.
        set_here = target.in_atomic_block and not (primary_deferred and using == db_router.PRIMARY)
        if set_here and isinstance(cursor.cursor, psycopg.ClientCursor):
            cursor.execute(f"{_SET_USER_SQL}; {sql}", [value, *params])
            cursor.nextset()
        else:
            if set_here:
                cursor.execute(_SET_USER_SQL, [value])
            cursor.execute(sql, params)
        return cursor.fetchall()


@contextlib.contextmanager
def acting_as_fetching(user_id: int | str, sql: str, params: list, *, model) -> Iterator[list[tuple]]:
    """`acting_as` whose first statement is the read `sql` (on the connection the router picks for
    `model`), sent together with the setting: one round trip. Yields `sql`'s rows."""
    if connections["default"].in_atomic_block:
        yield _set_user_and_fetch(user_id, sql, params, model=model)
        return
    with transaction.atomic():
        yield _set_user_and_fetch(user_id, sql, params, model=model)


@contextlib.contextmanager
def acting_as(user_id: int | str) -> Iterator[None]:
    """`set_user` for a block that may run inside the request's transaction (then the user stays
    set for the rest of it: one statement, no savepoint) or on its own (then a transaction is
    opened for the block, since the setting lives no longer than one)."""
    if connections["default"].in_atomic_block:
        set_user(user_id)
        yield
        return
    with transaction.atomic():
        set_user(user_id)
        yield


def current() -> tuple[str, bool]:
    """(user id or '', system?) as the default database sees them now (for tests and checks)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT current_setting('app.user_id', true), current_setting('app.system', true)")
        user, system = cursor.fetchone()
    return user or "", system == "on"


def _restore(cursor, user: str, system: str) -> None:
    cursor.execute(
        "SELECT set_config('app.user_id', %s, true), set_config('app.system', %s, true)", [user or "", system or ""]
    )


@contextlib.contextmanager
def _context(user: str, system: str, using: str) -> Iterator[None]:
    conn = connections[using]
    # Opening the transaction: the setting dies with it, so there is nothing to put back.
    nested = conn.in_atomic_block
    with transaction.atomic(using=using):
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('app.user_id', true), current_setting('app.system', true),"
                " set_config('app.user_id', %s, true), set_config('app.system', %s, true)",
                [user, system],
            )
            before_user, before_system, _, _ = cursor.fetchone()
        yield
        # A savepoint that is released keeps what was set inside it: put the outer values back.
        # (On an error the savepoint or transaction is rolled back, which restores them anyway.)
        if nested and conn.in_atomic_block and not conn.needs_rollback:
            with conn.cursor() as cursor:
                _restore(cursor, before_user, before_system)


@contextlib.contextmanager
def system_context(reason: str, *, using: str = "default") -> Iterator[None]:
    """Run the block as the system: every row of every private table is visible and writable.

    Opens a transaction (a savepoint inside one), restores the previous context on exit, and is
    audited (log line + metric). Use it for work no single user owns, never to make a failing
    user path pass."""
    from apps.core.metrics import RLS_SYSTEM_CONTEXTS

    RLS_SYSTEM_CONTEXTS.labels(reason=reason).inc()
    audit_logger.info("rls.system_context reason=%s", reason, extra={"rls_reason": reason})
    with _context("", "on", using):
        yield


@contextlib.contextmanager
def user_context(user_id: int | str, *, using: str = "default") -> Iterator[None]:
    """Run the block as `user_id` (e.g. the WebSocket consumer's database calls for its user)."""
    with _context(str(int(user_id)), "", using):
        yield


def system_view(reason: str) -> Callable:
    """Decorator: the whole view runs in `system_context(reason)` (admin pages, allauth flows)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            with system_context(reason):
                response = view(*args, **kwargs)
                # Template responses render lazily; render inside the context they were made in.
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapped

    return decorate


def system_urls(patterns: list, reason: str) -> list:
    """Wrap every view under `patterns` (URLPattern/URLResolver lists) with `system_view(reason)`:
    for third-party flows that look across accounts before anyone is signed in (allauth's OAuth
    callbacks find the account a provider uid belongs to)."""
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            if not getattr(pattern.callback, "_rls_system", False):
                pattern.callback = system_view(reason)(pattern.callback)
                pattern.callback._rls_system = True
        elif isinstance(pattern, URLResolver):
            system_urls(pattern.url_patterns, reason)
    return patterns


def install_admin_system_context() -> None:
    """Django admin pages are for staff (moderators and admins), who read and act on other users'
    private data: every admin view that passed the admin's permission check runs in the system
    context (reason `admin`)."""
    from django.contrib.admin import AdminSite

    if getattr(AdminSite.admin_view, "_rls_wrapped", False):
        return
    original = AdminSite.admin_view

    def admin_view(self, view, cacheable=False):
        return original(self, system_view("admin")(view), cacheable)

    admin_view._rls_wrapped = True
    AdminSite.admin_view = admin_view
