"""The one circuit breaker and retry policy for every outside source (price sources, Solana RPC).

A caller names its source (`market:dexscreener`, `solana-rpc:<url>`), reports each outcome and asks
before each call whether it may go ahead. The rules are here, once:

- a failure counts; the source backs off `backoff * 2**(failures-1)` seconds (capped at
  `backoff_max`); after `threshold` failures in a row the circuit opens for
  `cooldown * 2**(times reopened, at most 4)`;
- a 429 counts as a failure too and backs off at least its `Retry-After` (capped at an hour);
- when the back-off ends, one call goes through (half-open): success closes the circuit, failure
  reopens it for longer;
- within one call, passes over several endpoints sleep a full-jitter exponential delay
  (`RetryPolicy.pause`).

Where the state lives is the caller's choice: `CacheCircuits` keeps it in the default cache (shared
by every process; the RPC endpoints), the market keeps it in its `market_source_health` rows (an
operator reads them in the admin). Both apply `Breaker.failed` / `Breaker.succeeded` to a
`Circuit`, so the rules cannot drift apart.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import time
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

RETRY_AFTER_CAP_SECONDS = 3600
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) in seconds, capped; None when absent or unreadable."""
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - (now if now is not None else time.time())
    return max(0.0, min(seconds, float(RETRY_AFTER_CAP_SECONDS)))


@dataclass(frozen=True)
class Circuit:
    """One source's state: failures in a row, when it may be called again, closed/open/half-open."""

    failures: int = 0
    until: float | None = None  # epoch seconds; None = may be called
    state: str = CLOSED

    def allows(self, now: float) -> bool:
        return self.until is None or self.until <= now


@dataclass(frozen=True)
class Breaker:
    threshold: int
    cooldown: float
    backoff: float = 0.0
    backoff_max: float = 0.0

    def delay(self, failures: int, retry_after: float | None = None) -> tuple[str, float]:
        delay = min(self.backoff * 2 ** min(failures - 1, 20), self.backoff_max) if self.backoff > 0 else 0.0
        state = CLOSED
        if failures >= self.threshold:
            state = OPEN
            delay = max(delay, self.cooldown * 2 ** min(failures - self.threshold, 4))
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP_SECONDS))
        return state, delay

    def failed(self, circuit: Circuit, *, now: float, retry_after: float | None = None) -> tuple[Circuit, float]:
        failures = circuit.failures + 1
        state, delay = self.delay(failures, retry_after)
        return Circuit(failures=failures, until=now + delay if delay > 0 else None, state=state), delay

    def succeeded(self, circuit: Circuit) -> Circuit:
        return Circuit()

    def probe(self, circuit: Circuit, *, now: float) -> Circuit:
        """An open circuit whose back-off ended lets one call through."""
        if circuit.state == OPEN and circuit.allows(now):
            return replace(circuit, state=HALF_OPEN)
        return circuit


@dataclass(frozen=True)
class RetryPolicy:
    """Passes over a list of endpoints within one call, with a full-jitter pause between passes."""

    rounds: int = 1
    backoff: float = 0.0
    backoff_max: float = 0.0

    def pause(self, round_no: int) -> float:
        return random.uniform(0, min(self.backoff_max, self.backoff * 2**round_no))


class CacheCircuits:
    """Circuits kept in the default cache, so every worker process shares them. A lost cache (Redis
    down) reads as closed circuits: the callers go on without a breaker rather than fail."""

    def __init__(self, namespace: str, breaker: Breaker) -> None:
        self.namespace = namespace
        self.breaker = breaker

    def _key(self, source: str) -> str:
        digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:16]
        return f"resilience:{self.namespace}:{digest}"

    def get(self, source: str) -> Circuit:
        raw = cache.get(self._key(source))
        if isinstance(raw, dict):
            try:
                return Circuit(**raw)
            except TypeError:
                pass
        return Circuit()

    def _put(self, source: str, circuit: Circuit) -> None:
        ttl = max(int((circuit.until or 0) - time.time()), 0) + int(self.breaker.cooldown) * 10 + 60
        cache.set(self._key(source), circuit.__dict__, timeout=ttl)

    def allows(self, source: str) -> bool:
        return self.get(source).allows(time.time())

    def failure(self, source: str, why: str, *, retry_after: float | None = None) -> Circuit:
        circuit, delay = self.breaker.failed(self.get(source), now=time.time(), retry_after=retry_after)
        self._put(source, circuit)
        level = logging.WARNING if delay else logging.INFO
        logger.log(
            level, "%s %s failed (%s), %d in a row; benched %.0fs", self.namespace, source, why, circuit.failures, delay
        )
        return circuit

    def success(self, source: str) -> None:
        if self.get(source).failures:
            cache.delete(self._key(source))

    def states(self, sources: list[str]) -> list[dict[str, Any]]:
        now = time.time()
        out = []
        for source in sources:
            circuit = self.get(source)
            out.append(
                {"url": source, "open": not circuit.allows(now), "failures": circuit.failures, "state": circuit.state}
            )
        return out
