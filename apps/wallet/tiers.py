"""Holder tiers from settings.HOLDER_TIERS: [(name, minimum whole tokens)], lowest first."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def thresholds() -> list[tuple[str, int]]:
    return sorted(((str(n), int(m)) for n, m in settings.HOLDER_TIERS), key=lambda t: t[1])


def names() -> list[str]:
    return [n for n, _ in thresholds()]


def rank(name: str) -> int:
    """Position in HOLDER_TIERS (0 = lowest); an unknown name ranks lowest."""
    try:
        return names().index(name)
    except ValueError:
        return 0


def lowest() -> str:
    return thresholds()[0][0]


def tier_for(total_base: int | Decimal, decimals: int) -> str:
    whole = Decimal(total_base) / (Decimal(10) ** decimals)
    chosen = lowest()
    for name, minimum in thresholds():
        if whole >= minimum:
            chosen = name
    return chosen


def next_tier(total_base: int | Decimal, decimals: int) -> tuple[str, int] | None:
    whole = Decimal(total_base) / (Decimal(10) ** decimals)
    for name, minimum in thresholds():
        if whole < minimum:
            return name, minimum
    return None


def near_threshold(total_base: int | Decimal, decimals: int, pct: int) -> bool:
    """Within `pct` percent of any tier's minimum (either side): worth checking more often."""
    whole = Decimal(total_base) / (Decimal(10) ** decimals)
    return any(minimum > 0 and abs(whole - minimum) <= Decimal(minimum) * pct / 100 for _, minimum in thresholds())
