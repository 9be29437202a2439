"""One interface for every price source: `fetch_quote(client) -> Quote`, raising SourceError."""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from apps.core.resilience import retry_after_seconds


@dataclass(frozen=True)
class Quote:
    """A normalised quote. Any number may be None when the source does not give it."""

    source: str
    price_usd: Decimal | None
    as_of: datetime
    market_cap_usd: Decimal | None = None
    fdv_usd: Decimal | None = None
    volume_24h_usd: Decimal | None = None
    liquidity_usd: Decimal | None = None
    change_1h_pct: Decimal | None = None
    change_24h_pct: Decimal | None = None
    pair_address: str = ""

    def with_(self, **changes: Any) -> Quote:
        return replace(self, **changes)


class SourceError(Exception):
    """The source gave no usable answer (network, status, body). `retry_after` is set on 429."""

    def __init__(self, message: str, *, retry_after: int | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class SourceNotConfigured(SourceError):
    """The source lacks what it needs (e.g. an API key): skipped quietly, not a failure."""


def to_decimal(value: Any) -> Decimal | None:
    """Numbers arrive as JSON numbers or strings; floats go through str() so 0.1 stays 0.1."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    try:
        seconds = float(value) / (1000 if millis else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def get_json(
    client: httpx.Client, url: str, *, params: Any = None, headers: dict[str, str] | None = None, source: str
) -> Any:
    """GET and decode JSON, turning every way of failing into a SourceError with a clear message."""
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise SourceError(f"{source}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{source}: unreachable ({type(exc).__name__}: {exc})") from exc
    if response.status_code == 429:
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        retry_after = None if seconds is None else int(seconds)
        raise SourceError(f"{source}: rate limited (HTTP 429)", retry_after=retry_after, rate_limited=True)
    if response.status_code >= 400:
        raise SourceError(f"{source}: HTTP {response.status_code}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        kind = response.headers.get("content-type", "unknown content type")
        raise SourceError(f"{source}: answered {kind} that is not JSON") from None


class PriceSource(ABC):
    name: str

    def __init__(self, *, base_url: str, mint: str, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.mint = mint
        self.api_key = api_key

    @abstractmethod
    def fetch_quote(self, client: httpx.Client) -> Quote:
        """One quote for the token, or SourceError."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"
