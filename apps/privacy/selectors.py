"""Reads of the privacy app: the export document."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.privacy.registry import registry
from apps.privacy.shaping import plain

EXPORT_FORMAT = "successkid.account-export"
EXPORT_VERSION = 1


def export_document(*, user) -> dict[str, Any]:
    """Everything the platform holds about `user`, one section per registered area (every
    section present, empty lists/None when the area holds nothing). Read in one REPEATABLE READ
    snapshot so the sections agree with each other. Never secrets: each area leaves out password
    hashes, tokens, token ids and encrypted fields, and other people's private data."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:  # inside an outer transaction (tests) the level is already fixed
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sections = {area.section: plain(area.export(user)) for area in registry.ordered()}
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": plain(timezone.now()),
        "user_id": user.pk,
        "sections": dict(sorted(sections.items())),
    }
