from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.market import services
from apps.market.sources import SourceError


class Command(BaseCommand):
    help = "Fill the price history (candles) from CoinGecko's market chart and OHLC endpoints."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=1, help="how far back (CoinGecko days: 1, 7, 30, 90, 365...)")
        parser.add_argument("--coin-id", default=None, help="CoinGecko coin id (default COINGECKO_COIN_ID)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, days=1, coin_id=None, no_progress=False, **options):
        if days < 1 or days > 3650:
            raise CommandError("--days must be from 1 to 3650")
        coin_id = coin_id or settings.COINGECKO_COIN_ID

        def progress(chunks, total):
            bar = tqdm(total=total, desc="backfill", unit="pt", disable=no_progress, file=self.stderr)
            for chunk in chunks:
                yield chunk
                bar.update(len(chunk))
            bar.close()

        try:
            summary = services.backfill(days=days, coin_id=coin_id, progress=progress)
        except SourceError as exc:
            raise CommandError(f"backfill failed: {exc}") from exc
        self.stdout.write(
            f"backfill {coin_id} {days}d: {summary['points']} points, {summary['candles']} candles, "
            f"{summary['skipped']} skipped, {summary['buckets_written']} bucket updates"
        )
