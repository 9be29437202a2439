"""Realtime presence: which rooms the user is in right now. Nothing is kept after a socket goes
(Redis entries carry TTLs of REALTIME_PRESENCE_TTL_SECONDS); the database store's rows are
deleted on erasure; AccountDeleted tells the account's open sockets (apps/realtime/receivers.py),
which close when their access token expires."""

from __future__ import annotations

from apps.privacy.shaping import deleted, rows
from apps.realtime.models import PresenceEntry

SECTION = "realtime"
MODELS: list[str] = []  # PresenceEntry keeps a plain user_id column, no foreign key


def export(user) -> dict:
    return {"presence": rows(PresenceEntry.objects.filter(user_id=user.pk), "room", "expires_at")}


def erase(user) -> dict:
    return {"presence": deleted(PresenceEntry.objects.filter(user_id=user.pk))}
