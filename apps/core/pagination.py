"""Keyset (cursor) pagination per API.md: `?limit=` (default 20, max 100, clamped) and an opaque
`?cursor=`. Never OFFSET: a page is `WHERE (ordering keys) beyond the cursor ORDER BY ... LIMIT n+1`,
so page 50 costs what page 1 costs when an index matches the ordering.

A cursor carries the ordering values of the row it points past and a direction; it is
base64url(JSON). A malformed or tampered cursor is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldError
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q, QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.exceptions import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def parse_limit(request: Request, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed("limit must be a whole number.", details={"limit": ["Must be a whole number."]})
    if value < 1:
        raise ValidationFailed("limit must be at least 1.", details={"limit": ["Must be at least 1."]})
    return min(value, maximum)  # larger is clamped, not an error


def _encode_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "d" in value:
            return Decimal(value["d"])
    if isinstance(value, (dict, list)):
        raise ValueError("nested cursor value")
    return value


def encode_cursor(values: Sequence[Any], direction: str) -> str:
    payload = json.dumps({"v": [_encode_value(v) for v in values], "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n_keys: int) -> tuple[list[Any], str]:
    bad = ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]})
    if len(cursor) > 1024:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        values = [_decode_value(v) for v in payload["v"]]
        direction = payload["d"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if direction not in ("n", "p") or len(values) != n_keys:
        raise bad
    return values, direction


def _parse_ordering(ordering: Sequence[str]) -> list[tuple[str, bool]]:
    return [(o.lstrip("-"), o.startswith("-")) for o in ordering]


def _nullable(model, path: str) -> bool:
    try:
        for part in path.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model or model
        return bool(field.null)
    except Exception:  # annotations and unknown paths: assume not null
        return False


def _beyond(keys: list[tuple[str, bool]], values: list[Any], forward: bool, nullable: set[str]) -> Q:
    """Rows strictly after `values` in the ordering (or before, when paging backwards).

    Expanded as (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...: correct for mixed directions, and
    PostgreSQL still drives it from the index on the leading key.
    """
    condition = Q()
    equal_prefix = Q()
    for (field, descending), value in zip(keys, values, strict=True):
        greater = (not descending) == forward
        if value is None:
            # PostgreSQL sorts NULL as the largest value: nothing is greater, every non-NULL is less.
            if not greater:
                condition |= equal_prefix & Q(**{f"{field}__isnull": False})
            equal_prefix &= Q(**{f"{field}__isnull": True})
            continue
        step = Q(**{f"{field}__{'gt' if greater else 'lt'}": value})
        if greater and field in nullable:
            step |= Q(**{f"{field}__isnull": True})
        condition |= equal_prefix & step
        equal_prefix &= Q(**{field: value})
    return condition


class KeysetPagination(BasePagination):
    """Paginates a queryset by a total ordering. The view sets `ordering` (the last key must be
    unique, e.g. `-id`), or passes it to `paginate_queryset`."""

    ordering: Sequence[str] = ("-id",)
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None, ordering: Sequence[str] | None = None):
        ordering = list(ordering or getattr(view, "ordering", None) or self.ordering)
        keys = _parse_ordering(ordering)
        self.limit = parse_limit(request, self.default_limit, self.max_limit)
        cursor = request.query_params.get("cursor")
        forward = True
        if cursor:
            values, direction = decode_cursor(cursor, len(keys))
            forward = direction == "n"
            try:
                nullable = {f for f, _ in keys if _nullable(queryset.model, f)}
                queryset = queryset.filter(_beyond(keys, values, forward, nullable))
            except (DjangoValidationError, ValueError, TypeError, FieldError, OverflowError):
                raise ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]}) from None
        order_by = [(F(f).desc() if (desc == forward) else F(f).asc()) for f, desc in keys]
        try:
            rows = list(queryset.order_by(*order_by)[: self.limit + 1])
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]}) from None
        has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        if not forward:
            rows.reverse()
        self._keys = keys
        self.next_cursor = None
        self.prev_cursor = None
        if rows:
            first, last = rows[0], rows[-1]
            if (forward and has_more) or (not forward and cursor):
                self.next_cursor = encode_cursor(self._values(last), "n")
            if (forward and cursor) or (not forward and has_more):
                self.prev_cursor = encode_cursor(self._values(first), "p")
        return rows

    def _values(self, row: Any) -> list[Any]:
        out = []
        for field, _ in self._keys:
            value = row
            for part in field.split("__"):
                value = getattr(value, part)
            out.append(getattr(value, "pk", value))
        return out

    def get_meta(self) -> dict[str, Any]:
        return {"pagination": {"limit": self.limit, "next_cursor": self.next_cursor, "prev_cursor": self.prev_cursor}}

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"data": data, "meta": self.get_meta()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {"$ref": "#/components/schemas/CursorMeta"},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
                "description": f"Page size (default {DEFAULT_LIMIT}, larger than {MAX_LIMIT} is clamped).",
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Opaque cursor from meta.pagination.next_cursor or prev_cursor.",
            },
        ]


class PagePagination(BasePagination):
    """For ranked lists (leaderboards, search): `?page=`/`?limit=` with a total."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset, request, view=None):
        self.limit = parse_limit(request, self.default_limit, self.max_limit)
        raw = request.query_params.get("page") or "1"
        try:
            self.page = int(raw)
            if self.page < 1 or self.page > 10_000:
                raise ValueError
        except ValueError:
            raise ValidationFailed(
                "page must be a whole number from 1 to 10000.", details={"page": ["Invalid page."]}
            ) from None
        self.total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        start = (self.page - 1) * self.limit
        return list(queryset[start : start + self.limit])

    def get_meta(self) -> dict[str, Any]:
        return {"pagination": {"page": self.page, "limit": self.limit, "total": self.total}}

    def get_paginated_response(self, data):
        return Response({"data": data, "meta": self.get_meta()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": schema, "meta": {"$ref": "#/components/schemas/PageMeta"}},
        }
