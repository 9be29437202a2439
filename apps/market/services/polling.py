"""Polling the price sources in order, with failover, back-off and jump confirmation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.market import health as source_health
from apps.market.models import MarketSnapshot
from apps.market.pricing import CACHE_SECONDS, POLL_FAILED_CACHE_KEY, dec_str, iso
from apps.market.sources import PriceSource, Quote, SourceError, SourceNotConfigured, build_sources, http_client

from .recording import record_quote
from .validation import _POLL_LOCK, JUMP_REFERENCE_MAX_AGE, _sanitise, agree, change_pct, is_jump, quote_problem

logger = logging.getLogger("apps.market")

# --- polling ---------------------------------------------------------------------------------


@dataclass
class PollResult:
    snapshot: MarketSnapshot | None = None
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (source, outcome)

    @property
    def ok(self) -> bool:
        return self.snapshot is not None


def poll_once(
    *, now: datetime | None = None, sources: list[PriceSource] | None = None, force: bool = False
) -> PollResult:
    """Ask the sources in order until one gives a valid quote; a quote that jumps absurdly from the
    last good one is accepted only when another source agrees with it. Records the accepted quote,
    or marks the price stale when every source failed. `force` (an operator's `market_poll
    --once`) asks sources that are still backing off too."""
    now = now or timezone.now()
    sources = build_sources() if sources is None else sources
    result = PollResult()
    rows = source_health.health_rows([s.name for s in sources])
    last = MarketSnapshot.objects.order_by("-taken_at", "-id").first()
    reference = last.price_usd if last and last.taken_at >= now - JUMP_REFERENCE_MAX_AGE else None
    jumpy: list[Quote] = []
    accepted: Quote | None = None
    confirmed_by = ""
    with http_client() as client:
        for source in sources:
            health = rows[source.name]
            if not force and not source_health.may_call(health, now=now):
                result.attempts.append((source.name, "backing off"))
                continue
            source_health.mark_probe(health, now=now)
            started = time.monotonic()
            try:
                quote = source.fetch_quote(client)
            except SourceNotConfigured as exc:
                result.attempts.append((source.name, f"not configured: {exc}"))
                continue
            except SourceError as exc:
                source_health.record_failure(source=source.name, now=now, error=str(exc), retry_after=exc.retry_after)
                result.attempts.append((source.name, str(exc)))
                continue
            except Exception as exc:  # an answer shaped like nothing we know: a failure, not a crash
                error = f"{source.name}: unexpected answer ({type(exc).__name__}: {exc})"
                logger.debug("market source %s parse failure", source.name, exc_info=True)
                source_health.record_failure(source=source.name, now=now, error=error)
                result.attempts.append((source.name, error))
                continue
            problem = quote_problem(quote)
            if problem:
                error = f"{source.name}: rejected quote: {problem}"
                source_health.record_failure(source=source.name, now=now, error=error)
                result.attempts.append((source.name, error))
                continue
            source_health.record_success(
                source=source.name, now=now, latency_ms=int((time.monotonic() - started) * 1000)
            )
            quote = _sanitise(quote)
            if reference is None or not is_jump(quote.price_usd, reference):
                result.attempts.append((source.name, "accepted"))
                accepted = quote
                break
            confirming = next((q for q in jumpy if agree(q.price_usd, quote.price_usd)), None)
            if confirming is not None:
                result.attempts.append((source.name, f"confirms {confirming.source}"))
                accepted, confirmed_by = confirming, source.name
                break
            jumpy.append(quote)
            result.attempts.append(
                (source.name, f"unconfirmed jump of {change_pct(quote.price_usd, reference):.1f}%: held back")
            )
    for quote in jumpy:
        if accepted is not quote:
            logger.warning(
                "market: rejected %s price %s: %.1f%% from the last good %s and no other source confirms",
                quote.source,
                dec_str(quote.price_usd),
                change_pct(quote.price_usd, reference),
                dec_str(reference),
            )
    if accepted is None:
        cache.set(POLL_FAILED_CACHE_KEY, iso(now), CACHE_SECONDS)
        return result
    # Never date a quote in the future of when we fetched it (source clocks drift).
    accepted = accepted.with_(as_of=min(accepted.as_of, now))
    result.snapshot = record_quote(quote=accepted, taken_at=now, confirmed_by=confirmed_by)
    return result


def poll_guarded(**kwargs) -> PollResult | None:
    """poll_once unless another process is polling right now (then None)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_POLL_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("market: a poll is already running; skipped")
            return None
    try:
        return poll_once(**kwargs)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_POLL_LOCK])
