"""Read replicas: with DATABASE_REPLICA_URLS set, reads go to a replica and writes to the primary.

A request that has written reads from the primary for the rest of its life (read-your-writes), and
so does anything inside a transaction on the primary. Migrations run on the primary only.
"""

from __future__ import annotations

import contextlib
import random
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

from apps.core.middleware import BaseMiddleware

_pinned: ContextVar[bool] = ContextVar("db_pinned_to_primary", default=False)

PRIMARY = "default"


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


def pin_to_primary() -> None:
    _pinned.set(True)


def unpin() -> None:
    _pinned.set(False)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        replicas = replica_aliases()
        if not replicas or _pinned.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return random.choice(replicas)

    def db_for_write(self, model, **hints) -> str:
        pin_to_primary()
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # replicas hold the same data as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY


class PinningMiddleware(BaseMiddleware):
    """Each request starts unpinned; unsafe methods pin at once (they will write)."""

    def before(self, request):
        request._db_pin_token = _pinned.set(request.method not in ("GET", "HEAD", "OPTIONS"))
        return None

    def after(self, request, response):
        token = getattr(request, "_db_pin_token", None)
        if token is not None:
            with contextlib.suppress(ValueError):  # reset from another context: harmless
                _pinned.reset(token)
        return response
