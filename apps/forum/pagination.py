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

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection

from apps.core.exceptions import ApplicationError
from apps.core.pagination import KeysetPagination, decode_cursor


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
