"""Share cards: a 1200×630 PNG per reached milestone (label, market cap, date, run-up sparkline),
drawn with Pillow and cached by milestone, label and reach time (an admin edit redraws it)."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from apps.market.models import MarketMilestone
from apps.market.selectors import milestone_runup

WIDTH, HEIGHT = 1200, 630
BACKGROUND = (16, 24, 32)
ACCENT = (34, 197, 94)
TEXT = (241, 245, 249)
MUTED = (148, 163, 184)


def human_usd(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    for size, suffix in (
        (Decimal(10) ** 12, "T"),
        (Decimal(10) ** 9, "B"),
        (Decimal(10) ** 6, "M"),
        (Decimal(1000), "K"),
    ):
        if abs(value) >= size:
            return f"${(value / size):.2f}".rstrip("0").rstrip(".") + suffix
    return f"${value:.2f}"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def card_cache_key(milestone: MarketMilestone) -> str:
    digest = hashlib.sha256(
        f"{milestone.id}|{milestone.label}|{milestone.reached_at.isoformat()}|{milestone.market_cap_usd}".encode()
    ).hexdigest()[:24]
    return f"market:card:{milestone.id}:{digest}"


def render_card(milestone: MarketMilestone) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, WIDTH, 10], fill=ACCENT)
    draw.text((60, 50), f"{settings.TOKEN_SYMBOL} milestone reached", font=_font(36), fill=MUTED)
    draw.text((60, 110), milestone.label, font=_font(76), fill=TEXT)
    cap = milestone.reached_market_cap_usd or milestone.market_cap_usd
    draw.text((60, 220), f"Market cap {human_usd(cap)}", font=_font(44), fill=ACCENT)
    draw.text((60, 280), milestone.reached_at.strftime("%d %B %Y, %H:%M UTC"), font=_font(32), fill=MUTED)
    closes = milestone_runup(milestone)
    box = (60, 360, WIDTH - 60, HEIGHT - 60)
    if len(closes) >= 2:
        low, high = min(closes), max(closes)
        spread = (high - low) or high or Decimal(1)
        step = (box[2] - box[0]) / (len(closes) - 1)
        points = [
            (box[0] + i * step, box[3] - float((c - low) / spread) * (box[3] - box[1])) for i, c in enumerate(closes)
        ]
        draw.line([(x, box[3]) for x, _ in points[:1]] + points, fill=ACCENT, width=5, joint="curve")
        draw.ellipse([points[-1][0] - 9, points[-1][1] - 9, points[-1][0] + 9, points[-1][1] + 9], fill=ACCENT)
    else:
        draw.text((box[0], box[1] + 80), "Price history not available", font=_font(28), fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def milestone_card(milestone: MarketMilestone) -> tuple[bytes, str]:
    """(png bytes, etag), from the cache when already drawn."""
    key = card_cache_key(milestone)
    png = cache.get(key)
    if png is None:
        png = render_card(milestone)
        cache.set(key, png, 30 * 24 * 3600)
    return png, key.rsplit(":", 1)[-1]
