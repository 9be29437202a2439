"""Source health: the project's one breaker (`apps.core.resilience.Breaker`: back-off after
failures, Retry-After on 429, circuit open after a run of failures, half-open probe) applied to each
price source, with exactly one warning per source per back-off, so an unreachable source never floods
the log.

State lives in `market_source_health`, shared by every process that polls (and shown in the admin).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.core.metrics import SOURCE_UP
from apps.core.resilience import Breaker, Circuit
from apps.market.models import CircuitState, SourceHealth

logger = logging.getLogger("apps.market.sources")


def breaker() -> Breaker:
    return Breaker(
        threshold=settings.MARKET_CIRCUIT_THRESHOLD,
        cooldown=settings.MARKET_CIRCUIT_COOLDOWN_SECONDS,
        backoff=settings.MARKET_BACKOFF_BASE_SECONDS,
        backoff_max=settings.MARKET_BACKOFF_MAX_SECONDS,
    )


def _circuit(health: SourceHealth) -> Circuit:
    until = health.backoff_until.timestamp() if health.backoff_until else None
    return Circuit(failures=health.consecutive_failures, until=until, state=str(health.state))


def health_rows(names: list[str]) -> dict[str, SourceHealth]:
    rows = {h.source: h for h in SourceHealth.objects.filter(source__in=names)}
    for name in names:
        rows.setdefault(name, SourceHealth(source=name))
    return rows


def may_call(health: SourceHealth, *, now: datetime) -> bool:
    """False while the source is backing off or its circuit is open (and the cool-down runs)."""
    if not _circuit(health).allows(now.timestamp()):
        logger.debug("market source %s skipped until %s", health.source, health.backoff_until.isoformat())
        return False
    return True


@transaction.atomic
def record_success(*, source: str, now: datetime, latency_ms: int) -> None:
    SOURCE_UP.labels(source).set(1)
    health, _ = SourceHealth.objects.select_for_update().get_or_create(source=source)
    if health.consecutive_failures:
        logger.info("market source %s is answering again after %d failures", source, health.consecutive_failures)
    SourceHealth.objects.filter(source=source).update(
        state=CircuitState.CLOSED,
        consecutive_failures=0,
        backoff_until=None,
        last_success_at=now,
        last_latency_ms=min(latency_ms, 2**31 - 1),
        total_successes=F("total_successes") + 1,
    )


@transaction.atomic
def record_failure(*, source: str, now: datetime, error: str, retry_after: int | None = None) -> SourceHealth:
    """Count a failure and start a back-off: exponential, or the source's Retry-After on 429; after
    MARKET_CIRCUIT_THRESHOLD failures in a row the circuit opens for a longer cool-down. Logs one
    warning, which is the only one until this back-off ends."""
    SOURCE_UP.labels(source).set(0)
    health, _ = SourceHealth.objects.select_for_update().get_or_create(source=source)
    circuit, delay = breaker().failed(
        Circuit(failures=health.consecutive_failures), now=now.timestamp(), retry_after=retry_after
    )
    failures = circuit.failures
    state = CircuitState.OPEN if circuit.state == "open" else CircuitState.CLOSED
    health.state = state
    health.consecutive_failures = failures
    health.total_failures += 1
    health.backoff_until = now + timedelta(seconds=delay)
    health.last_failure_at = now
    health.last_error = error[:300]
    health.save()
    circuit = " (circuit open)" if state == CircuitState.OPEN else ""
    logger.warning(
        "market source %s failed: %s; backing off %d s until %s%s [failure %d in a row]",
        source,
        error,
        delay,
        health.backoff_until.strftime("%H:%M:%SZ"),
        circuit,
        failures,
    )
    return health


def mark_probe(health: SourceHealth, *, now: datetime) -> None:
    """An open circuit whose cool-down ended lets one probe through (half-open)."""
    if health.pk and breaker().probe(_circuit(health), now=now.timestamp()).state == CircuitState.HALF_OPEN:
        SourceHealth.objects.filter(source=health.source, state=CircuitState.OPEN).update(state=CircuitState.HALF_OPEN)
