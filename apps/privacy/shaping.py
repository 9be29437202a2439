"""Turn model rows into the export's plain JSON values (API.md: times ISO 8601 UTC with Z,
amounts as decimal strings, ids as given)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def rows(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    """`values(*fields)` as plain dicts, in the queryset's order (id order when it has none).
    Keys are the field names, with `__` lookups renamed to their last part."""
    qs = queryset if queryset.ordered else queryset.order_by("pk")
    out = []
    for row in qs.values(*fields):
        out.append({name.rsplit("__", 1)[-1]: plain(row[name]) for name in fields})
    return out


def one(obj, *fields: str) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {name: plain(getattr(obj, name)) for name in fields}


def deleted(queryset: QuerySet) -> int:
    """Delete, and count the rows of the queryset's own model (not what cascaded from them)."""
    _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)
