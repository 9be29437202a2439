"""Read replicas under row-level security (DATABASE_REPLICA_URLS; README "Scale-out topology").

Where a query goes is decided per request, in the wrapper Django puts around each view for
ATOMIC_REQUESTS (`install_request_routing`), so it lives exactly as long as the request's
transaction on the primary:

- A safe API request (GET/HEAD/OPTIONS) reads from one replica, picked at random on its first read.
  The replica's transaction is opened then with one statement that makes it READ ONLY and sets the
  request's RLS user (`set_config(..., true)`, transaction-local like on the primary), so no query
  ever runs there without the context; `rls.set_user` keeps it in step afterwards.
- Writes go to the primary. The first write (routed through the ORM, or any INSERT/UPDATE/DELETE on
  the primary's connection) sends every later read of the request to the primary as well. A write
  sent to the replica connection by hand fails loudly (the transaction is read-only).
- Reads inside an explicit transaction block on the primary (`system_context`, `transaction.atomic`,
  `select_for_update`) stay with that block: its RLS context and its locks live there.
- Unsafe methods, non-API paths (the admin), Celery tasks, WebSocket consumers and management
  commands have no request routing: everything runs on the primary.
- Read-your-writes: after a request that wrote has committed, the primary's WAL position
  (`pg_current_wal_lsn()`) is stored in the cache under the user's id for
  DATABASE_READ_YOUR_WRITES_SECONDS. That user's safe requests use the replica only once its
  `pg_last_wal_replay_lsn()` has reached that position, and the primary until then. Kept on the
  server, keyed by user: the same for JWT in a header or in a cookie, on every device, with no client
  change.
- A replica that has WAL it has not replayed for more than DATABASE_REPLICA_MAX_LAG_SECONDS, or that
  cannot be reached, is skipped for the request (its reads go to the primary).
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections, transaction

from apps.core.middleware import is_api_path
from apps.core.resilience import Breaker, Circuit

logger = logging.getLogger(__name__)

PRIMARY = "default"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Tables that hold per-browser state written outside the view (sessions) or the process's own
# bookkeeping (the database cache): always the primary.
PRIMARY_ONLY_APPS = frozenset({"django_cache", "sessions"})

# How far the replica has replayed, and for how long WAL it received has waited to be replayed
# (zero when it has replayed all it has; NULL on a server that is not a standby).
REPLAY_POSITION_SQL = "pg_last_wal_replay_lsn()"
REPLAY_LAG_SQL = (
    "CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
    " THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) ELSE 0 END"
)

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_WRITE_IN_CTE = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE)


# A replica that cannot be reached is benched for this process (the pool's checkout timeout is
# paid once, not by every request): 5 s, doubling while it stays down.
REPLICA_BREAKER = Breaker(threshold=1, cooldown=5.0)
_circuits: dict[str, Circuit] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in connections.settings if alias.startswith("replica")]


def _pick_replica() -> str | None:
    now = time.time()
    usable = [alias for alias in replica_aliases() if _circuits.get(alias, Circuit()).allows(now)]
    return random.choice(usable) if usable else None


def _replica_failed(alias: str) -> None:
    logger.warning("db.replica_unavailable alias=%s", alias, exc_info=True)
    _circuits[alias], _ = REPLICA_BREAKER.failed(_circuits.get(alias, Circuit()), now=time.time())


def marker_key(user_id: str) -> str:
    return f"db:last-write:{user_id}"


def parse_lsn(value: str | None) -> int | None:
    """'16/B374D848' -> an integer that orders like the position."""
    if not value:
        return None
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


# The user's last write could not be looked up: as if it were newer than any replica.
UNKNOWN_WRITE = 1 << 64


def last_write(user: str) -> int | None:
    """The WAL position after the user's last write within the window, if any."""
    try:
        return parse_lsn(cache.get(marker_key(user)))
    except Exception:
        logger.warning("db.last_write_unreadable", exc_info=True)
        return UNKNOWN_WRITE


def is_write(sql: str) -> bool:
    if _WRITE.match(sql):
        return True
    return sql.lstrip()[:4].upper() == "WITH" and bool(_WRITE_IN_CTE.search(sql))


@dataclass
class Route:
    """One request's routing state."""

    primary_only: bool
    user: str = ""
    wrote: bool = False
    base_depth: int = -1  # the primary's atomic depth inside the request's own transaction
    replica: str | None = None
    replay_lsn: int | None = None
    # The RLS user not yet set on the primary: set just before the primary's next statement, so a
    # request the replica serves costs the primary nothing (its BEGIN is never sent).
    primary_user_pending: str | None = None
    _atomic: transaction.Atomic | None = None

    def read_alias(self) -> str:
        # Inside a block of its own on the primary, or after the request's transaction ended
        # (on-commit callbacks): the primary.
        if self.primary_only or len(connections[PRIMARY].atomic_blocks) != self.base_depth:
            return PRIMARY
        if self.replica is None:
            alias = _pick_replica()
            if alias is None:
                self.primary_only = True
                return PRIMARY
            self._open(alias)
        return PRIMARY if self.primary_only else self.replica

    def _open(self, alias: str) -> None:
        """BEGIN on the replica; the first statement makes the transaction read-only, sets the RLS
        context and reads how far the replica has got, in one round trip."""
        self.replica = alias
        written = last_write(self.user) if self.user else None
        atomic = transaction.atomic(using=alias)
        try:
            atomic.__enter__()
        except DatabaseError:
            _replica_failed(alias)
            self.primary_only = True
            return
        self._atomic = atomic
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('transaction_read_only', 'on', true),"
                    " set_config('app.user_id', %s, true), set_config('app.system', '', true),"
                    f" ({REPLAY_POSITION_SQL})::text, ({REPLAY_LAG_SQL})::float8",
                    [self.user],
                )
                _, _, _, position, lag = cursor.fetchone()
        except DatabaseError as exc:
            _replica_failed(alias)
            self.primary_only = True
            self.end(exc)
            return
        _circuits.pop(alias, None)
        self.replay_lsn = parse_lsn(position)
        if lag is not None and lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
            logger.info("db.replica_lagging alias=%s lag=%.1fs", alias, lag)
            self.primary_only = True
            self.end(None)
            return
        self._behind(written)

    def _behind(self, written: int | None) -> None:
        """The user's last write is not on the replica yet: the primary for this request."""
        if written is None:
            return
        if written == UNKNOWN_WRITE or (self.replay_lsn is not None and self.replay_lsn < written):
            self.primary_only = True

    def note_user(self, user: str) -> bool:
        """True when the primary's context is left to its next statement (`watch_primary`): only
        while the request may still read replicas and runs no block of its own on the primary (a
        savepoint rolled back must take the setting with it)."""
        self.user = user
        if user and self.replica is not None and not self.primary_only:
            self._behind(last_write(user))
        if self.primary_only or len(connections[PRIMARY].atomic_blocks) != self.base_depth:
            return False
        self.primary_user_pending = user
        return True

    def note_write(self) -> None:
        self.wrote = True
        self.primary_only = True

    def watch_primary(self, execute, sql, params, many, context):
        """Every statement on the primary's connection during the request passes here."""
        if self.primary_user_pending is not None:
            user, self.primary_user_pending = self.primary_user_pending, None
            context["cursor"].execute("SELECT set_config('app.user_id', %s, true)", [user])
        result = execute(sql, params, many, context)
        # A statement that changed rows (an upsert that did nothing did not).
        if not self.wrote and is_write(sql) and context["cursor"].rowcount:
            self.note_write()
        return result

    def end(self, exc: BaseException | None) -> None:
        """End the replica's transaction (read-only: commit and rollback are the same)."""
        atomic, self._atomic = self._atomic, None
        if atomic is None:
            return
        try:
            if exc is None:
                atomic.__exit__(None, None, None)
            else:
                atomic.__exit__(type(exc), exc, exc.__traceback__)
        except DatabaseError:
            logger.warning("db.replica_end_failed alias=%s", self.replica, exc_info=True)

    def record_write(self) -> None:
        """After the primary committed: where the user's writes end in the WAL."""
        if not (self.wrote and self.user):
            return
        try:
            with connections[PRIMARY].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()::text")
                (position,) = cursor.fetchone()
            cache.set(marker_key(self.user), position, timeout=settings.DATABASE_READ_YOUR_WRITES_SECONDS)
        except Exception:
            logger.warning("db.last_write_not_recorded", exc_info=True)


_route: ContextVar[Route | None] = ContextVar("db_route", default=None)


def note_user(user_id: str) -> bool:
    """The request's RLS user changed (`rls.set_user`): later replica transactions carry it, and
    their last write decides whether the replica is recent enough. True when the primary's
    connection gets it just before its next statement instead of now."""
    route = _route.get()
    return route is not None and route.note_user(user_id)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        route = _route.get()
        if route is None or model._meta.app_label in PRIMARY_ONLY_APPS:
            return PRIMARY
        return route.read_alias()

    def db_for_write(self, model, **hints) -> str:
        route = _route.get()
        if route is not None and model._meta.app_label not in PRIMARY_ONLY_APPS:
            route.note_write()
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # replicas hold the same data as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY


def routed(view, make_atomic):
    """`view` wrapped for replica routing around the primary's request transaction
    (`make_atomic`, Django's ATOMIC_REQUESTS wrapper)."""

    @functools.wraps(view)
    def inside_transaction(request, *args, **kwargs):
        route = _route.get()
        if route is not None:
            route.base_depth = len(connections[PRIMARY].atomic_blocks)
        return view(request, *args, **kwargs)

    atomic_view = make_atomic(inside_transaction)

    @functools.wraps(view)
    def run(request, *args, **kwargs):
        route = Route(primary_only=request.method not in SAFE_METHODS or not is_api_path(request.path))
        token = _route.set(route)
        try:
            with connections[PRIMARY].execute_wrapper(route.watch_primary):
                response = atomic_view(request, *args, **kwargs)
        except BaseException as exc:
            route.end(exc)
            raise
        else:
            route.end(None)
        finally:
            _route.reset(token)
        route.record_write()
        return response

    return run


def reads_anonymously(request) -> bool:
    """A safe API request without credentials, on a set-up without replicas: it runs outside a
    request transaction (`install_request_routing`). Such a request has no RLS context to carry
    (an anonymous viewer is the absence of one) and under READ COMMITTED each of its statements
    sees its own snapshot inside a transaction as well, so the transaction only cost it two round
    trips (BEGIN, COMMIT). A write it makes commits at once; one that must be atomic opens its
    own block (`system_context` does). Every credential of the API is the Authorization header
    (apps.accounts.authentication)."""
    return (
        request.method in SAFE_METHODS
        and "HTTP_AUTHORIZATION" not in request.META
        and is_api_path(request.path)
        and not replica_aliases()
    )


def install_request_routing() -> None:
    """Route each request's reads (above) when replicas are configured; without them Django's own
    ATOMIC_REQUESTS wrapper runs, except for anonymous reads (`reads_anonymously`)."""
    from django.core.handlers.base import BaseHandler

    original = BaseHandler.make_view_atomic
    if getattr(original, "_routed", False):
        return

    def make_view_atomic(self, view):
        if iscoroutinefunction(view):
            return original(self, view)
        if replica_aliases():
            return routed(view, lambda inner: original(self, inner))
        atomic_view = original(self, view)
        if atomic_view is view:  # non_atomic_requests
            return view

        @functools.wraps(view)
        def per_request(request, *args, **kwargs):
            if reads_anonymously(request):
                return view(request, *args, **kwargs)
            return atomic_view(request, *args, **kwargs)

        return per_request

    make_view_atomic._routed = True
    BaseHandler.make_view_atomic = make_view_atomic
