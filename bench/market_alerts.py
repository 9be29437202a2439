"""How long one accepted quote takes (snapshot, 4 rollups, milestones, moves, alert evaluation)
with many armed price alerts. Run against a scratch database (it is migrated and filled):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_market_bench \\
        .venv/bin/python bench/market_alerts.py --alerts 200000 --quotes 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.market import services  # noqa: E402
from apps.market.models import MarketCandle, MarketSnapshot, PriceAlert, PriceAlertTrigger  # noqa: E402
from apps.market.sources import Quote  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--quotes", type=int, default=40)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    PriceAlertTrigger.objects.all().delete()
    PriceAlert.objects.all().delete()
    MarketSnapshot.objects.all().delete()
    MarketCandle.objects.all().delete()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO users (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, email_verified, role, suspension_reason, token_version)"
            " SELECT '!', false, 'bench_' || g, '', '', '', false, true, now(), false, 'user', '', 0"
            " FROM generate_series(1, %s) g ON CONFLICT DO NOTHING",
            [args.users],
        )
        cur.execute("SELECT min(id), max(id) FROM users WHERE username LIKE 'bench_%%'")
        lo, hi = cur.fetchone()
        # Targets spread from 0.5x to 1.5x of 1.0; half above-alerts, half below-alerts.
        cur.execute(
            "INSERT INTO market_price_alerts (user_id, kind, target_price_usd, trigger_above, trigger_below, repeating,"
            " status, note, trigger_count, created_at, updated_at)"
            " SELECT %s + (g %% (%s - %s + 1)),"
            "  CASE WHEN g %% 2 = 0 THEN 'above' ELSE 'below' END, t,"
            "  CASE WHEN g %% 2 = 0 THEN t END, CASE WHEN g %% 2 = 1 THEN t END, g %% 3 = 0, 'armed', '', 0, now(), now()"
            " FROM (SELECT g, round((0.5 + random())::numeric, 6) AS t FROM generate_series(1, %s) g) s",
            [lo, hi, lo, args.alerts],
        )
        cur.execute("ANALYZE market_price_alerts")
    start = timezone.now()

    def quote(i: int, price: Decimal) -> float:
        q = Quote(source="bench", price_usd=price, as_of=start, market_cap_usd=price * 10**9)
        t0 = time.perf_counter()
        services.record_quote(quote=q, taken_at=start + timedelta(seconds=30 * i))
        return (time.perf_counter() - t0) * 1000

    # The first quote crosses every alert whose target lies beyond it (about half of them): a
    # worst case that no real market produces, reported on its own.
    first_ms = quote(0, Decimal("1.0"))
    first_fired = PriceAlertTrigger.objects.count()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE market_price_alerts")  # what autovacuum does after such a mass change
    durations = []
    price = Decimal("1.0")
    for i in range(1, args.quotes + 1):
        price = price * (Decimal("1.002") if i % 2 else Decimal("0.999"))  # a slow upward walk
        durations.append(quote(i, price))
    fired = PriceAlertTrigger.objects.count() - first_fired
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN ANALYZE SELECT id FROM market_price_alerts WHERE status = 'armed' AND trigger_above <= %s",
            [price],
        )
        plan = "\n".join(r[0] for r in cur.fetchall())
    durations.sort()
    print(f"alerts={args.alerts} users={args.users}")
    print(f"first quote: {first_ms:.0f} ms, fired {first_fired} alerts at once")
    print(
        f"next {args.quotes} quotes: {fired} firings; record_quote ms median {statistics.median(durations):.1f}, "
        f"p90 {durations[int(len(durations) * 0.9) - 1]:.1f}, max {durations[-1]:.1f}"
    )
    print(plan)


if __name__ == "__main__":
    main()
