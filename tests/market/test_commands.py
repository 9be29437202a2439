"""market_poll --once, market_backfill (CoinGecko chart + OHLC) and the beat tasks."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import httpx
import pytest
import respx
from django.core.management import CommandError, call_command

from apps.market import tasks
from apps.market.models import MarketCandle, MarketSnapshot

from .conftest import json_response

pytestmark = pytest.mark.django_db

CHART_URL = "http://coingecko.test/api/v3/coins/success-kid/market_chart"
OHLC_URL = "http://coingecko.test/api/v3/coins/success-kid/ohlc"


def test_market_poll_once(sources):
    out = StringIO()
    call_command("market_poll", "--once", stdout=out)
    assert "price 0.0004213 USD" in out.getvalue()
    assert "dexscreener: accepted" in out.getvalue()
    assert MarketSnapshot.objects.count() == 1


def test_market_poll_once_fails_loudly_when_every_source_is_down(sources):
    for route in sources.values():
        route.mock(side_effect=httpx.ConnectError("network is unreachable"))
    with pytest.raises(CommandError, match="stale"):
        call_command("market_poll", "--once", stdout=StringIO(), stderr=StringIO())


def test_beat_schedule_and_poll_task(sources, settings):
    assert settings.CELERY_BEAT_SCHEDULE["market-poll"]["task"] == "apps.market.tasks.poll_market"
    assert settings.CELERY_BEAT_SCHEDULE["market-poll"]["schedule"] == float(settings.MARKET_POLL_SECONDS)
    assert "market-retention" in settings.CELERY_BEAT_SCHEDULE
    assert tasks.poll_market.delay().get() is True
    assert MarketSnapshot.objects.count() == 1
    assert isinstance(tasks.enforce_market_retention.delay().get(), dict)


@respx.mock
def test_backfill_from_chart_and_ohlc():
    chart = respx.get(CHART_URL).mock(return_value=json_response("coingecko_market_chart_1d.json"))
    ohlc = respx.get(OHLC_URL).mock(return_value=json_response("coingecko_ohlc_1d.json"))
    out, err = StringIO(), StringIO()
    call_command("market_backfill", "--days", "1", stdout=out, stderr=err)
    assert chart.calls.last.request.url.params["days"] == "1"
    assert ohlc.called
    assert "points" in out.getvalue()
    assert "backfill" in err.getvalue()  # the progress bar
    # 5-minute points: no 1-minute candles invented; 5m candles one per point.
    assert not MarketCandle.objects.filter(interval="1m").exists()
    five = MarketCandle.objects.filter(interval="5m").order_by("bucket")
    first = five.first()
    assert first.bucket == datetime(2025, 11, 25, 9, 40, tzinfo=UTC)  # 1764063600000 ms
    assert first.close == Decimal("0.0003716607")
    # OHLC candles go only into buckets that hold them whole: [10:10, 10:40] lands in the 10:00 hour,
    # [09:40, 10:10] (straddling two hours) in no hour, only in the day.
    ten = MarketCandle.objects.get(interval="1h", bucket=datetime(2025, 11, 25, 10, 0, tzinfo=UTC))
    assert ten.high >= Decimal("0.000378742")
    nine = MarketCandle.objects.get(interval="1h", bucket=datetime(2025, 11, 25, 9, 0, tzinfo=UTC))
    assert nine.samples == 4  # the four 5-minute points 09:40..09:55, no candle
    assert nine.open == Decimal("0.0003716607")
    hour = ten
    counts = {i: MarketCandle.objects.filter(interval=i).count() for i in ("5m", "1h", "1d")}
    # Re-running changes nothing (idempotent upserts).
    call_command("market_backfill", "--days", "1", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert {i: MarketCandle.objects.filter(interval=i).count() for i in ("5m", "1h", "1d")} == counts
    assert MarketCandle.objects.get(pk=hour.pk).high == hour.high


@respx.mock
def test_backfill_rate_limited_is_a_clear_error():
    respx.get(CHART_URL).mock(return_value=json_response("coingecko_429.json", status=429))
    with pytest.raises(CommandError, match="rate limited"):
        call_command("market_backfill", stdout=StringIO(), stderr=StringIO())
    assert not MarketCandle.objects.exists()


def test_market_poll_once_asks_sources_that_are_backing_off(sources):
    """After an outage every source is backing off; an operator's `--once` still asks them now
    (the loop and beat keep respecting the back-off)."""
    from django.utils import timezone

    from apps.market.models import SourceHealth

    later = timezone.now() + timezone.timedelta(hours=1)
    for name in sources:
        SourceHealth.objects.update_or_create(source=name, defaults={"backoff_until": later, "consecutive_failures": 3})
    out = StringIO()
    call_command("market_poll", "--once", stdout=out)
    assert "dexscreener: accepted" in out.getvalue()
    assert MarketSnapshot.objects.count() == 1
    assert SourceHealth.objects.get(source="dexscreener").backoff_until is None
