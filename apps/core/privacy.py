"""Core: the Idempotency-Key records of a user's recent POSTs (apps.core.idempotency). Private:
listed in the export without the stored answers (copies of what the other sections hold), deleted
on erasure."""

from __future__ import annotations

from apps.core.models import IdempotencyKey
from apps.privacy.shaping import deleted, rows

SECTION = "requests"
MODELS = ["core.IdempotencyKey"]


def export(user) -> dict:
    return {
        "idempotency_keys": rows(
            IdempotencyKey.objects.filter(user=user).order_by("created_at", "id"),
            "key",
            "method",
            "path",
            "status_code",
            "created_at",
        ),  # fmt: skip
    }


def erase(user) -> dict:
    return {"idempotency_keys": deleted(IdempotencyKey.objects.filter(user=user))}
