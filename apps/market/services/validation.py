"""Rules every quote passes before it is stored, and the lock that serialises writes to the market series."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.conf import settings
from django.db import connection

from apps.market.sources import Quote

logger = logging.getLogger("apps.market")

# Serialises every write to the market series (any process), so rollups, milestones and alerts see
# quotes one at a time. Arbitrary constants, unique within this project.
_WRITE_LOCK = 0x5C1D_0001
_POLL_LOCK = 0x5C1D_0002
ABSURD_PRICE = Decimal(10) ** 12  # no token quote is this large; the price columns stop at 10^20
MAX_STORED_PCT = Decimal("9999999999.99")


def _quant(value: Decimal, places: int) -> Decimal:
    """Round to `places` decimals with enough precision for any value the columns can hold (the
    default context's 28 digits cannot quantize 10^11 to 18 places)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


_TICK = timedelta(microseconds=1)
# A jump is judged against the last good quote only while that quote is this recent.
JUMP_REFERENCE_MAX_AGE = timedelta(hours=6)


def _lock_market_writes() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_WRITE_LOCK])


# --- validation ------------------------------------------------------------------------------


def quote_problem(quote: Quote) -> str | None:
    """Why a quote is unusable on its own (None if it is fine)."""
    if quote.price_usd is None:
        return "price is null"
    if quote.price_usd <= 0:
        return f"price is not positive ({quote.price_usd})"
    if quote.price_usd >= ABSURD_PRICE:
        return f"price is absurd ({quote.price_usd})"
    for name in ("market_cap_usd", "fdv_usd", "volume_24h_usd", "liquidity_usd"):
        value = getattr(quote, name)
        if value is not None and value < 0:
            return f"{name} is negative ({value})"
    return None


def change_pct(new: Decimal, old: Decimal) -> Decimal:
    return (new - old) / old * 100


def is_jump(price: Decimal, reference: Decimal) -> bool:
    return abs(change_pct(price, reference)) > Decimal(str(settings.MARKET_MAX_JUMP_PCT))


def agree(a: Decimal, b: Decimal) -> bool:
    return abs(change_pct(a, b)) <= Decimal(str(settings.MARKET_CONFIRM_TOLERANCE_PCT))


def _sanitise(quote: Quote) -> Quote:
    """Fit numbers into the columns (18 decimal places for prices, 4 for the rest)."""

    def q(value: Decimal | None, places: int) -> Decimal | None:
        if value is None:
            return None
        value = _quant(value, places)
        return value if abs(value) < Decimal(10) ** (30 - places - 4) else None

    return quote.with_(
        price_usd=_quant(quote.price_usd, 18) if quote.price_usd else None,
        market_cap_usd=q(quote.market_cap_usd, 4),
        fdv_usd=q(quote.fdv_usd, 4),
        volume_24h_usd=q(quote.volume_24h_usd, 4),
        liquidity_usd=q(quote.liquidity_usd, 4),
        change_1h_pct=q(quote.change_1h_pct, 4)
        if quote.change_1h_pct is None or abs(quote.change_1h_pct) < 10**9
        else None,
        change_24h_pct=q(quote.change_24h_pct, 4)
        if quote.change_24h_pct is None or abs(quote.change_24h_pct) < 10**9
        else None,
    )
