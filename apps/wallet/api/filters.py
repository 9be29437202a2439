"""Query filters of the wallet's list endpoints (see apps.core.filters)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from apps.core.filters import UtcDateTimeFilter
from apps.wallet.models import Transaction, TransactionKind

DIRECTIONS = [("in", "Tokens came in"), ("out", "Tokens went out"), ("none", "Nothing moved in total")]


class TransactionFilter(filters.FilterSet):
    """`GET /api/wallet/transactions`: direction, kind, time range, one linked wallet."""

    direction = filters.ChoiceFilter(choices=DIRECTIONS, method="by_direction", help_text="Sign of the amount.")
    type = filters.ChoiceFilter(field_name="kind", choices=TransactionKind.choices, help_text="One kind of movement.")
    # `from`/`to` are Python keywords: declared through the class namespace.
    locals()["from"] = UtcDateTimeFilter(
        field_name="block_time", lookup_expr="gte", help_text="ISO 8601 time, inclusive."
    )
    locals()["to"] = UtcDateTimeFilter(field_name="block_time", lookup_expr="lt", help_text="ISO 8601 time, exclusive.")
    since = UtcDateTimeFilter(field_name="block_time", lookup_expr="gte", help_text="Same as `from`.")
    until = UtcDateTimeFilter(field_name="block_time", lookup_expr="lt", help_text="Same as `to`.")
    address = filters.CharFilter(field_name="wallet__address", max_length=64, help_text="Only this linked wallet.")

    class Meta:
        model = Transaction
        fields: list[str] = []

    def by_direction(self, queryset, name, value):
        return {"in": queryset.filter(amount__gt=0), "out": queryset.filter(amount__lt=0)}.get(
            value, queryset.filter(amount=0)
        )
