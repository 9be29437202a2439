"""Keyset pagination whose cursor condition an index can seek to.

The foundation's KeysetPagination expresses "after the cursor" as
`k1 < v1 OR (k1 = v1 AND k2 < v2)`, which PostgreSQL evaluates as a filter while walking the index
from its start: page N costs O(N) index entries, and worse inside a big tie group (every cold post
has hot_rank 0). When every key sorts the same way and is a plain non-null column, this subclass
adds the equivalent row comparison `(k1, k2) < (v1, v2)`, which PostgreSQL uses as an index
condition: any page costs what page 1 costs. The original condition stays (redundant, cheap), so
results are identical, and a cursor it cannot vouch for is left to the base class to reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection

from apps.core.exceptions import ApplicationError, ValidationFailed
from apps.core.pagination import KeysetPagination, decode_cursor, encode_cursor


class SeekKeysetPagination(KeysetPagination):
    def paginate_queryset(self, queryset, request, view=None, ordering=None):
        ordering = list(ordering or getattr(view, "ordering", None) or self.ordering)
        cursor = request.query_params.get("cursor")
        if cursor:
            queryset = self._with_row_comparison(queryset, ordering, cursor)
        return super().paginate_queryset(queryset, request, view=view, ordering=ordering)

    @staticmethod
    def _with_row_comparison(queryset, ordering: list[str], cursor: str):
        descending = {o.startswith("-") for o in ordering}
        if len(descending) != 1:
            return queryset
        try:
            values, direction = decode_cursor(cursor, len(ordering))
        except ApplicationError:
            return queryset  # the base class answers 400
        model = queryset.model
        table = model._meta.db_table
        columns: list[str] = []
        params: list[Any] = []
        try:
            for key, value in zip(ordering, values, strict=True):
                field = model._meta.get_field(key.lstrip("-"))
                if field.null or value is None or field.is_relation and not field.concrete:
                    return queryset
                params.append(field.get_db_prep_value(field.to_python(value), connection=connection, prepared=False))
                columns.append(f'"{table}"."{field.column}"')
        except (FieldDoesNotExist, DjangoValidationError, ValueError, TypeError, OverflowError, AttributeError):
            return queryset
        forward = direction == "n"
        op = "<" if descending.pop() == forward else ">"
        placeholders = ", ".join(["%s"] * len(params))
        where = f"({', '.join(columns)}) {op} ({placeholders})"
        return queryset.extra(where=[where], params=params)  # noqa: S610 (column names from model metadata)


@dataclass(frozen=True)
class SeekPage:
    """A keyset page for hand-written SQL (the feeds): the condition past the cursor, the ORDER BY,
    and `page()` to trim the fetched rows and build the cursors, exactly as KeysetPagination does."""

    where: str  # "" without a cursor
    params: list[Any]
    order_by: str
    forward: bool
    cursor: str | None

    def page(self, rows: list, limit: int, values_of) -> tuple[list, str | None, str | None]:
        """(rows of the page in display order, next cursor, previous cursor) from up to limit + 1 rows."""
        has_more = len(rows) > limit
        rows = rows[:limit]
        if not self.forward:
            rows.reverse()
        next_cursor = prev_cursor = None
        if rows:
            if (self.forward and has_more) or (not self.forward and self.cursor):
                next_cursor = encode_cursor(values_of(rows[-1]), "n")
            if (self.forward and self.cursor) or (not self.forward and has_more):
                prev_cursor = encode_cursor(values_of(rows[0]), "p")
        return rows, next_cursor, prev_cursor


def seek_page(model, ordering: list[str], cursor: str | None) -> SeekPage:
    """The keyset condition of `ordering` (one direction, NOT NULL columns of `model`'s table) past
    `cursor` as a row comparison, which PostgreSQL uses as an index condition. A malformed cursor,
    or values its columns cannot hold, is a 400. A null value in a cursor (no row has one) matches
    every row on that key, as the ORM's expansion does: the keys before it decide."""
    table = model._meta.db_table
    fields = [model._meta.get_field(name.lstrip("-")) for name in ordering]
    directions = {name.startswith("-") for name in ordering}
    if len(directions) != 1 or any(f.null for f in fields):
        raise ValueError("seek_page needs one direction and NOT NULL keys")  # a programming error
    descending = directions.pop()
    columns = [f'"{table}"."{f.column}"' for f in fields]
    forward, where, params = True, "", []
    if cursor:
        values, direction = decode_cursor(cursor, len(fields))
        forward = direction == "n"
        op = "<" if descending == forward else ">"
        try:
            for f, value in zip(fields, values, strict=True):
                if value is None:
                    op = "<=" if op == "<" else op
                    break
                params.append(f.get_db_prep_value(f.to_python(value), connection=connection, prepared=False))
        except (DjangoValidationError, ValueError, TypeError, OverflowError, AttributeError):
            raise ValidationFailed("The cursor is malformed.", details={"cursor": ["Malformed cursor."]}) from None
        if params:
            keys = columns[: len(params)]
            where = f"({', '.join(keys)}) {op} ({', '.join(['%s'] * len(params))})"
        elif op == ">":
            where = "FALSE"  # paging back from before the first key: nothing
    way = "DESC" if descending == forward else "ASC"
    return SeekPage(where, params, ", ".join(f"{c} {way}" for c in columns), forward, cursor)
