import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.market import services
from apps.market.pricing import dec_str

logger = logging.getLogger("apps.market")


class Command(BaseCommand):
    help = "Poll the price sources: once with --once, else every MARKET_POLL_SECONDS until stopped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="poll once now, asking every source even if it is backing off, and exit (1 if none answered)",
        )

    def handle(self, *args, once=False, **options):
        self.verbose = once or options.get("verbosity", 1) > 1
        if once:
            if not self._poll(force=True):
                raise CommandError("no valid quote from any source; the price is stale")
            return
        while True:
            started = time.monotonic()
            try:
                self._poll()
            except Exception:  # the database may be away for a moment: keep looping
                logger.exception("market poll failed")
            time.sleep(max(1.0, settings.MARKET_POLL_SECONDS - (time.monotonic() - started)))

    def _poll(self, *, force: bool = False) -> bool:
        result = services.poll_guarded(force=force)
        if result is None:
            self.stdout.write("another poll is running; skipped")
            return True
        if self.verbose:
            for source, outcome in result.attempts:
                self.stdout.write(f"  {source}: {outcome}")
        if result.snapshot is None:
            # In a loop, say so only when a source was actually asked (the source warnings already
            # say why); polls that only skip backing-off sources stay quiet, so no log flood.
            if self.verbose or any(
                o != "backing off" and not o.startswith("not configured") for _, o in result.attempts
            ):
                self.stderr.write("no valid quote: serving the last good one as stale")
            return False
        s = result.snapshot
        self.stdout.write(
            f"price {dec_str(s.price_usd)} USD, market cap {dec_str(s.market_cap_usd)} USD "
            f"from {s.source}{' (confirmed by ' + s.confirmed_by + ')' if s.confirmed_by else ''}"
        )
        return True
