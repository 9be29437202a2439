"""Sparse fieldsets: `?fields=id,title,score` on the large list endpoints.

A list view mixes in `SparseFieldsetMixin` and names what may be asked for (`sparse_fields`, or
`sparse_serializer` whose fields are taken, or `sparse_allowed()` when it depends on the request).
The parameter is checked before any work (an unknown name is a 400 `validation_error` listing the
allowed names), the rows of `data` keep only the requested top-level keys plus the row's identity
(`sparse_always`, `id` by default), and the schema documents the parameter (apps.core.schema).

Filtering happens on the rendered rows, so it works the same for hand-built serializers and for
cached pages (a cached page is stored whole and trimmed on the way out). Where skipping work is
simple, a view passes `self.requested_fields` on: `trim_serializer()` drops the unrequested
fields of a DRF serializer before it renders, and the forum's serializers skip the author when it
is not asked for. An empty `?fields=` means every field.
"""

from __future__ import annotations

from collections.abc import Sequence

from rest_framework import serializers

from apps.core.exceptions import ValidationFailed

PARAM = "fields"


def parse_fields(raw: str | None, allowed: Sequence[str], always: Sequence[str] = ("id",)) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    requested = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in requested if name not in allowed]
    if unknown:
        msg = f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. Allowed: {', '.join(allowed)}."
        raise ValidationFailed(msg, details={PARAM: [msg], "allowed": list(allowed)})
    return frozenset(requested) | {name for name in always if name in allowed}


def serializer_fields(serializer_class) -> list[str]:
    meta = getattr(serializer_class, "Meta", None)
    declared = getattr(meta, "fields", None)
    if isinstance(declared, (list, tuple)):
        return list(declared)
    return list(serializer_class().fields)


class SparseFieldsetMixin:
    sparse_fields: Sequence[str] = ()
    sparse_serializer = None
    sparse_always: Sequence[str] = ("id",)
    requested_fields: frozenset[str] | None = None

    def sparse_allowed(self, request) -> list[str]:
        if self.sparse_fields:
            return list(self.sparse_fields)
        return serializer_fields(self.sparse_serializer)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and throttles first
        if request.method == "GET":
            self.requested_fields = parse_fields(
                request.query_params.get(PARAM), self.sparse_allowed(request), self.sparse_always
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        fields = self.requested_fields
        data = getattr(response, "data", None)
        if fields and response.status_code == 200 and isinstance(data, dict) and isinstance(data.get("data"), list):
            # A new body: a cached one (feed, leaderboard) must not be trimmed in place.
            rows = [{k: v for k, v in row.items() if k in fields} for row in data["data"]]
            response.data = {**data, "data": rows}
        return response

    def trim_serializer(self, serializer):
        """Drop unrequested fields from a (list) serializer before it renders."""
        fields = self.requested_fields
        if fields:
            target = serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer
            for name in list(target.fields):
                if name not in fields:
                    target.fields.pop(name)
        return serializer
