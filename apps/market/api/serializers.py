from __future__ import annotations

from django.utils.functional import lazy
from rest_framework import serializers

from apps.market.models import AlertKind, MarketCandle, MarketMilestone, PriceAlert, SourceHealth
from apps.market.pricing import dec_str
from apps.market.sources import source_names


class PlainDecimalField(serializers.DecimalField):
    """A decimal string without exponent or padding zeros ("0.0004213", not "0.000421300000000000")."""

    def to_representation(self, value):
        return dec_str(value)


def _price(**kwargs) -> PlainDecimalField:
    return PlainDecimalField(max_digits=38, decimal_places=18, **kwargs)


def _usd(**kwargs) -> PlainDecimalField:
    return PlainDecimalField(max_digits=30, decimal_places=4, **kwargs)


def _registered_sources_text() -> str:
    """ "a, b or c": the registered price sources (read when the schema is built, not at import)."""
    names = source_names()
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""


_registered_sources = lazy(_registered_sources_text, str)


class PriceSerializer(serializers.Serializer):
    """API.md "price" (output shape, for the schema)."""

    price_usd = _price(allow_null=True)
    market_cap_usd = _usd(allow_null=True)
    fdv_usd = _usd(allow_null=True)
    change_1h_pct = _usd(allow_null=True)
    change_24h_pct = _usd(allow_null=True)
    volume_24h_usd = _usd(allow_null=True)
    liquidity_usd = _usd(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text=_registered_sources())
    confirmed_by = serializers.CharField(
        allow_null=True, help_text="second source that confirmed an unusually large move"
    )
    as_of = serializers.DateTimeField(allow_null=True, help_text="the source's time for the quote")
    fetched_at = serializers.DateTimeField(allow_null=True, help_text="when the quote was fetched")
    stale = serializers.BooleanField(help_text="true when no fresh quote could be had (last good quote shown)")


class HistoryPointSerializer(serializers.ModelSerializer):
    t = serializers.DateTimeField(source="bucket", help_text="start of the bucket")
    open = _price()
    high = _price()
    low = _price()
    close = _price()
    volume = _usd(allow_null=True, help_text="rolling 24 h USD volume at the candle's close")

    class Meta:
        model = MarketCandle
        fields = ["t", "open", "high", "low", "close", "volume"]


class MilestoneSerializer(serializers.ModelSerializer):
    market_cap_usd = _usd()
    progress_pct = serializers.SerializerMethodField()
    reached_price_usd = _price(allow_null=True)
    reached_market_cap_usd = _usd(allow_null=True)
    card_url = serializers.SerializerMethodField()

    class Meta:
        model = MarketMilestone
        fields = [
            "id",
            "market_cap_usd",
            "label",
            "reached_at",
            "progress_pct",
            "reached_price_usd",
            "reached_market_cap_usd",
            "card_url",
        ]

    def get_progress_pct(self, obj) -> str | None:
        from apps.market.selectors import milestone_progress

        return dec_str(milestone_progress(obj, self.context.get("market_cap")))

    def get_card_url(self, obj) -> str | None:
        if not obj.reached_at:
            return None
        from apps.media.services import absolute_url

        return absolute_url(f"/api/market/milestones/{obj.id}/card.png", request=self.context.get("request"))


class PriceAlertSerializer(serializers.ModelSerializer):
    target_price_usd = _price(allow_null=True)
    change_pct = _usd(allow_null=True)
    reference_price_usd = _price(allow_null=True)
    trigger_above = _price(allow_null=True)
    trigger_below = _price(allow_null=True)
    last_triggered_price_usd = _price(allow_null=True)

    class Meta:
        model = PriceAlert
        fields = [
            "id",
            "kind",
            "target_price_usd",
            "change_pct",
            "reference_price_usd",
            "trigger_above",
            "trigger_below",
            "repeating",
            "status",
            "note",
            "trigger_count",
            "last_triggered_at",
            "last_triggered_price_usd",
            "created_at",
        ]
        read_only_fields = fields


class PriceAlertCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    target_price_usd = serializers.DecimalField(
        max_digits=38, decimal_places=18, required=False, allow_null=True, help_text="for above/below"
    )
    change_pct = serializers.DecimalField(
        max_digits=14,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text="for change: +10 fires 10 % above the price when set, -10 10 % below",
    )
    repeating = serializers.BooleanField(default=False, help_text="re-arm after firing instead of firing once")
    note = serializers.CharField(max_length=140, required=False, allow_blank=True, default="")


class PriceAlertUpdateSerializer(serializers.Serializer):
    target_price_usd = serializers.DecimalField(max_digits=38, decimal_places=18, required=False)
    change_pct = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    repeating = serializers.BooleanField(required=False)
    note = serializers.CharField(max_length=140, required=False, allow_blank=True)


class SourceHealthSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceHealth
        fields = [
            "source",
            "state",
            "consecutive_failures",
            "backoff_until",
            "last_success_at",
            "last_failure_at",
            "last_error",
            "last_latency_ms",
        ]
        read_only_fields = fields
