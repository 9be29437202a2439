"""Market: the user's price alerts (and their firings). Private: deleted on erasure."""

from __future__ import annotations

from apps.market.models import PriceAlert
from apps.privacy.shaping import deleted, rows

SECTION = "market"
MODELS = ["market.PriceAlert"]


def export(user) -> dict:
    return {
        "price_alerts": rows(
            PriceAlert.objects.filter(user=user).order_by("created_at", "id"),
            "id",
            "kind",
            "target_price_usd",
            "change_pct",
            "reference_price_usd",
            "repeating",
            "status",
            "note",
            "trigger_count",
            "last_triggered_at",
            "last_triggered_price_usd",
            "created_at",
        ),  # fmt: skip
    }


def erase(user) -> dict:
    return {"price_alerts": deleted(PriceAlert.objects.filter(user=user))}  # triggers cascade
