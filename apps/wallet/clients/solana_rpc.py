"""Solana JSON-RPC adapter over httpx.

Endpoints from `SOLANA_RPC_URLS` are tried in order. Each call makes up to `SOLANA_RPC_MAX_ROUNDS`
passes over the endpoints, sleeping an exponential backoff with full jitter between passes. An
endpoint that times out, fails, answers garbage or 5xx counts a failure; after
`SOLANA_RPC_BREAKER_FAILURES` consecutive failures its circuit opens for
`SOLANA_RPC_BREAKER_COOLDOWN_SECONDS` (then one trial call is let through). A 429 (HTTP or JSON-RPC)
benches the endpoint for its `Retry-After` and moves on to the next one. Breaker state lives in the
default cache, so every worker process shares it.

JSON-RPC errors that are the caller's fault (invalid params, unknown method) are raised at once as
`RpcRequestError`, never retried. Everything else that cannot be answered ends as `RpcUnavailable`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

SPL_TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
# JSON-RPC error codes that mean "this node cannot answer now" rather than "your request is wrong".
RETRYABLE_RPC_CODES = {429, -32005, -32004, -32007, -32009, -32014, -32016, -32603, -32429}


class RpcError(Exception):
    """Base: the RPC could not give a usable answer."""


class RpcUnavailable(RpcError):
    """No endpoint answered usefully (down, late, rate-limited, malformed) within the retry budget."""

    def __init__(self, message: str, *, rate_limited: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited
        self.retry_after = retry_after


class RpcRequestError(RpcError):
    """The node understood and refused the request (e.g. -32602 invalid params): not retried."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code


class RpcMalformed(RpcError):
    """The answer does not have the documented shape, or contradicts the request."""


class _RateLimited(Exception):
    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenHolding:
    owner: str
    mint: str
    amount: int  # base units, summed over every token account of `mint` owned by `owner`
    decimals: int | None  # None when the owner has no token account of the mint
    accounts: int
    slot: int | None


@dataclass(frozen=True)
class TokenAccount:
    pubkey: str
    program: str  # the token program that owns it (SPL Token or Token-2022)
    amount: int
    decimals: int


def _key(url: str, what: str) -> str:
    return f"wallet:rpc:{what}:{hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:16]}"


def _retry_after(response: httpx.Response, default: float) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(raw), 600.0))
    except ValueError:
        return default


class SolanaRpcClient:
    def __init__(
        self,
        urls: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        max_rounds: int | None = None,
        backoff: float | None = None,
        backoff_max: float | None = None,
        breaker_failures: int | None = None,
        breaker_cooldown: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.urls = [u for u in (urls if urls is not None else settings.SOLANA_RPC_URLS) if u]
        if not self.urls:
            raise ValueError("SOLANA_RPC_URLS is empty")
        self.timeout = timeout if timeout is not None else settings.SOLANA_RPC_TIMEOUT_SECONDS
        self.max_rounds = max(1, max_rounds if max_rounds is not None else settings.SOLANA_RPC_MAX_ROUNDS)
        self.backoff = backoff if backoff is not None else settings.SOLANA_RPC_BACKOFF_SECONDS
        self.backoff_max = backoff_max if backoff_max is not None else settings.SOLANA_RPC_BACKOFF_MAX_SECONDS
        self.breaker_failures = breaker_failures or settings.SOLANA_RPC_BREAKER_FAILURES
        self.breaker_cooldown = (
            breaker_cooldown if breaker_cooldown is not None else settings.SOLANA_RPC_BREAKER_COOLDOWN_SECONDS
        )
        self.sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 3.0)),
            headers={"Content-Type": "application/json", "User-Agent": "successkid-wallet/1"},
            transport=transport,
        )
        self._id = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SolanaRpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- circuit breaker (shared through the cache) ----------------------------------------------

    def _is_open(self, url: str) -> bool:
        until = cache.get(_key(url, "open_until"))
        return bool(until and until > time.time())

    def _open(self, url: str, seconds: float, why: str) -> None:
        cache.set(_key(url, "open_until"), time.time() + seconds, timeout=int(seconds) + 1)
        logger.warning("solana rpc %s benched for %.0fs (%s)", url, seconds, why)

    def _failure(self, url: str, why: str) -> None:
        key = _key(url, "failures")
        try:
            failures = cache.incr(key)
        except ValueError:  # first failure: no counter yet
            failures = None
        if not isinstance(failures, int):  # (None also when the cache itself is unreachable)
            cache.set(key, 1, timeout=int(self.breaker_cooldown) * 10 or 600)
            failures = 1
        logger.info("solana rpc %s failed (%s), %d in a row", url, why, failures)
        if failures >= self.breaker_failures:
            self._open(url, self.breaker_cooldown, f"circuit open after {failures} failures")
            cache.delete(key)

    def _success(self, url: str) -> None:
        cache.delete(_key(url, "failures"))

    def endpoint_states(self) -> list[dict[str, Any]]:
        return [
            {"url": u, "open": self._is_open(u), "failures": cache.get(_key(u, "failures")) or 0} for u in self.urls
        ]

    # --- one call ------------------------------------------------------------------------------

    def _post(self, url: str, method: str, params: list[Any]) -> Any:
        self._id += 1
        payload = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        response = self._http.post(url, json=payload)
        if response.status_code == 429:
            raise _RateLimited(_retry_after(response, 10.0))
        if response.status_code >= 500:
            raise RpcUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise RpcMalformed(f"HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict):
            raise RpcMalformed("answer is not a JSON-RPC object")
        error = body.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = str(error.get("message", ""))[:200] if isinstance(error, dict) else str(error)[:200]
            if code == 429 or code == -32429 or "too many requests" in message.lower():
                raise _RateLimited(_retry_after(response, 10.0))
            if code in RETRYABLE_RPC_CODES or not isinstance(code, int):
                raise RpcUnavailable(f"RPC error {code}: {message}")
            raise RpcRequestError(code, message)
        if response.status_code >= 400:
            raise RpcUnavailable(f"HTTP {response.status_code}")
        if "result" not in body:
            raise RpcMalformed("answer has neither result nor error")
        return body["result"]

    def call(self, method: str, params: list[Any]) -> Any:
        last_problem = "no endpoint tried"
        rate_limited_all = True
        shortest_wait: float | None = None
        for round_no in range(self.max_rounds):
            tried = 0
            for url in self.urls:
                if self._is_open(url):
                    continue
                tried += 1
                try:
                    result = self._post(url, method, params)
                except RpcRequestError:
                    self._success(url)  # the node is healthy; the request is wrong
                    raise
                except _RateLimited as limited:
                    wait = limited.retry_after if limited.retry_after is not None else 10.0
                    self._open(url, max(wait, 1.0), "rate limited")
                    shortest_wait = wait if shortest_wait is None else min(shortest_wait, wait)
                    last_problem = f"{url} rate limited"
                    continue
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    rate_limited_all = False
                    last_problem = f"{url}: {type(exc).__name__}"
                    self._failure(url, last_problem)
                    continue
                except (RpcUnavailable, RpcMalformed) as exc:
                    rate_limited_all = False
                    last_problem = f"{url}: {exc}"
                    self._failure(url, last_problem)
                    continue
                self._success(url)
                return result
            if tried == 0:
                last_problem = "every endpoint is benched (circuit open or rate limited)"
            if round_no + 1 < self.max_rounds:
                delay = min(self.backoff_max, self.backoff * (2**round_no))
                self.sleep(random.uniform(0, delay))  # full jitter
        raise RpcUnavailable(
            f"{method}: {last_problem}",
            rate_limited=rate_limited_all and shortest_wait is not None,
            retry_after=shortest_wait,
        )

    # --- typed methods ---------------------------------------------------------------------------

    def get_token_holding(self, owner: str, mint: str) -> TokenHolding:
        """Sum of every token account of `mint` owned by `owner` (SPL Token and Token-2022 alike: the
        mint filter covers both), in base units from `tokenAmount.amount`, never the float uiAmount."""
        result = self.call(
            "getTokenAccountsByOwner",
            [owner, {"mint": mint}, {"encoding": "jsonParsed", "commitment": "confirmed"}],
        )
        try:
            slot = result.get("context", {}).get("slot")
            accounts = result["value"]
            if not isinstance(accounts, list):
                raise TypeError("value is not a list")
            total = 0
            decimals: int | None = None
            for entry in accounts:
                data = entry["account"]["data"]
                program_owner = entry["account"].get("owner")
                if program_owner not in (SPL_TOKEN_PROGRAM, TOKEN_2022_PROGRAM, None):
                    raise RpcMalformed(f"token account owned by {program_owner}")
                info = data["parsed"]["info"]
                if info.get("mint") != mint or info.get("owner") != owner:
                    raise RpcMalformed("token account for another mint or owner")
                amount_raw = info["tokenAmount"]["amount"]
                if not isinstance(amount_raw, str) or not amount_raw.isdigit():
                    raise RpcMalformed("tokenAmount.amount is not a string of digits")
                these_decimals = int(info["tokenAmount"]["decimals"])
                if decimals is not None and decimals != these_decimals:
                    raise RpcMalformed("token accounts disagree on decimals")
                decimals = these_decimals
                total += int(amount_raw)
        except RpcMalformed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RpcMalformed(f"getTokenAccountsByOwner answer malformed: {exc}") from None
        return TokenHolding(owner=owner, mint=mint, amount=total, decimals=decimals, accounts=len(accounts), slot=slot)

    def get_token_accounts(self, owner: str, mint: str) -> list[TokenAccount]:
        """Every token account of `mint` that `owner` holds, asked under both token programs (a mint
        belongs to one of them; asking both keeps the answer right whichever it is)."""
        found: list[TokenAccount] = []
        for program in (SPL_TOKEN_PROGRAM, TOKEN_2022_PROGRAM):
            result = self.call(
                "getTokenAccountsByOwner",
                [owner, {"programId": program}, {"encoding": "jsonParsed", "commitment": "confirmed"}],
            )
            try:
                for entry in result["value"]:
                    info = entry["account"]["data"]["parsed"]["info"]
                    if info.get("mint") != mint:
                        continue
                    if info.get("owner") != owner:
                        raise RpcMalformed("token account of another owner")
                    raw = info["tokenAmount"]["amount"]
                    if not isinstance(raw, str) or not raw.isdigit():
                        raise RpcMalformed("tokenAmount.amount is not a string of digits")
                    found.append(
                        TokenAccount(
                            pubkey=str(entry["pubkey"]),
                            program=program,
                            amount=int(raw),
                            decimals=int(info["tokenAmount"]["decimals"]),
                        )
                    )
            except RpcMalformed:
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise RpcMalformed(f"getTokenAccountsByOwner answer malformed: {exc}") from None
        return found

    def get_signatures(
        self, address: str, *, limit: int = 50, before: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        config: dict[str, Any] = {"limit": max(1, min(limit, 1000)), "commitment": "confirmed"}
        if before:
            config["before"] = before
        if until:
            config["until"] = until
        result = self.call("getSignaturesForAddress", [address, config])
        if not isinstance(result, list) or not all(isinstance(r, dict) and "signature" in r for r in result):
            raise RpcMalformed("getSignaturesForAddress answer malformed")
        return result

    def get_transaction(self, signature: str) -> dict[str, Any] | None:
        result = self.call(
            "getTransaction",
            [signature, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}],
        )
        if result is not None and not isinstance(result, dict):
            raise RpcMalformed("getTransaction answer malformed")
        return result


def get_client(*, interactive: bool = False) -> SolanaRpcClient:
    """The client the services use (tests replace the transport with respx, not this function).
    `interactive`: a user is waiting (one pass over the endpoints, shorter timeout)."""
    if interactive:
        return SolanaRpcClient(max_rounds=1, timeout=min(settings.SOLANA_RPC_TIMEOUT_SECONDS, 5.0))
    return SolanaRpcClient()
