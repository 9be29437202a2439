"""Solana RPC: solana-py (`solana.rpc.async_api.AsyncClient`) under a thin layer of ours.

From solana-py and solders: the request bodies (typed `solders.rpc.requests` with their configs),
sending them (`AsyncClient.send_rpc_request`: the JSON-RPC envelope, `SolanaJsonRpcError` with
the node's code), the response types the answers are read into (`RpcKeyedAccountJsonParsed`,
`RpcConfirmedTransactionStatusWithSignature`, `EncodedConfirmedTransactionWithStatusMeta`) and
the `spl.token` program ids. solana-py 0.41 is async only; our callers (Celery tasks, services
behind sync views) are not, so each attempt runs on its own short event loop.

What the layer adds, because solana-py does not do it:
- several endpoints (`SOLANA_RPC_URLS`) tried in order, up to `SOLANA_RPC_MAX_ROUNDS` passes with a
  full-jitter pause between passes (`apps.core.resilience.RetryPolicy`);
- the project's one circuit breaker (`apps.core.resilience`), kept in the default cache so every
  worker shares it: `SOLANA_RPC_BREAKER_FAILURES` failures in a row open an endpoint's circuit for
  `SOLANA_RPC_BREAKER_COOLDOWN_SECONDS`; a 429 (HTTP or JSON-RPC) benches it for its `Retry-After`;
- timeouts (`SOLANA_RPC_TIMEOUT_SECONDS`, shorter connect), on our own HTTP session;
- structured errors: `RpcRequestError` (the node refused the request: not retried),
  `RpcUnavailable` (nobody answered usefully; says whether it was rate limiting and for how long),
  `RpcMalformed` (an answer not of the documented shape).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from django.conf import settings
from pydantic import ValidationError
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.jsonrpc import JsonRpcRequest, SolanaJsonRpcError
from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.pubkey import Pubkey
from solders.rpc.config import (
    RpcAccountInfoConfig,
    RpcSignaturesForAddressConfig,
    RpcTokenAccountsFilterMint,
    RpcTokenAccountsFilterProgramId,
    RpcTransactionConfig,
)
from solders.rpc.requests import GetSignaturesForAddress, GetTokenAccountsByOwner, GetTransaction
from solders.rpc.responses import RpcConfirmedTransactionStatusWithSignature, RpcKeyedAccountJsonParsed
from solders.signature import Signature
from solders.transaction_status import EncodedConfirmedTransactionWithStatusMeta, UiTransactionEncoding
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from apps.core.resilience import Breaker, CacheCircuits, RetryPolicy, retry_after_seconds

logger = logging.getLogger(__name__)

SPL_TOKEN_PROGRAM = str(TOKEN_PROGRAM_ID)
TOKEN_2022_PROGRAM = str(TOKEN_2022_PROGRAM_ID)
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
# JSON-RPC error codes that mean "this node cannot answer now" rather than "your request is wrong".
RETRYABLE_RPC_CODES = {-32005, -32004, -32007, -32009, -32014, -32016, -32603}
RATE_LIMITED_RPC_CODES = {429, -32429}
DEFAULT_RETRY_AFTER = 10.0
T = TypeVar("T")


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


def default_transport() -> httpx2.AsyncBaseTransport | None:
    """The HTTP transport (None: the network). Tests replay recorded answers by replacing this."""
    return None


def _run(coroutine: Awaitable[T]) -> T:
    """Run one attempt to completion from sync code (a thread of its own if a loop already runs here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]


def _commitment() -> CommitmentLevel:
    return CommitmentLevel.Confirmed


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
        sleep: Callable[[float], None] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        import time

        self.urls = [u for u in (urls if urls is not None else settings.SOLANA_RPC_URLS) if u]
        if not self.urls:
            raise ValueError("SOLANA_RPC_URLS is empty")
        self.timeout = timeout if timeout is not None else settings.SOLANA_RPC_TIMEOUT_SECONDS
        self.retry = RetryPolicy(
            rounds=max(1, max_rounds if max_rounds is not None else settings.SOLANA_RPC_MAX_ROUNDS),
            backoff=backoff if backoff is not None else settings.SOLANA_RPC_BACKOFF_SECONDS,
            backoff_max=backoff_max if backoff_max is not None else settings.SOLANA_RPC_BACKOFF_MAX_SECONDS,
        )
        self.max_rounds = self.retry.rounds
        breaker = Breaker(
            threshold=breaker_failures or settings.SOLANA_RPC_BREAKER_FAILURES,
            cooldown=breaker_cooldown if breaker_cooldown is not None else settings.SOLANA_RPC_BREAKER_COOLDOWN_SECONDS,
        )
        self.circuits = CacheCircuits("solana-rpc", breaker)
        self.sleep = sleep or time.sleep
        self.transport = transport if transport is not None else default_transport()

    def close(self) -> None:
        """Nothing held between calls (each attempt opens and closes its own session)."""

    def __enter__(self) -> SolanaRpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def endpoint_states(self) -> list[dict[str, Any]]:
        return self.circuits.states(self.urls)

    # --- one attempt against one endpoint ----------------------------------------------------------

    def _session(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=httpx2.Timeout(self.timeout, connect=min(self.timeout, 3.0)),
            headers={"User-Agent": "successkid-wallet/1"},
            transport=self.transport,
        )

    async def _attempt(self, url: str, request: Any, result_type: Any) -> Any:
        client = AsyncClient(url, commitment=_commitment(), timeout=self.timeout, max_transport_retries=0)
        # solana-py has no transport or timeout hook for its session: ours carries both.
        await client._provider.session.aclose()
        client._provider.session = self._session()
        try:
            return await client.send_rpc_request(JsonRpcRequest.model_validate_json(request.to_json()), result_type)
        finally:
            await client.close()

    def _post(self, url: str, request: Any, result_type: Any) -> Any:
        """One attempt; every way of failing becomes one of our errors."""
        try:
            return _run(self._attempt(url, request, result_type))
        except SolanaJsonRpcError as exc:
            if exc.code in RATE_LIMITED_RPC_CODES or "too many requests" in exc.message.lower():
                raise _RateLimited(None) from None
            if exc.code in RETRYABLE_RPC_CODES:
                raise RpcUnavailable(f"RPC error {exc.code}: {exc.message[:200]}") from None
            raise RpcRequestError(exc.code, exc.message[:200]) from None
        except SolanaRpcException as exc:
            cause = exc.__cause__
            if isinstance(cause, httpx2.HTTPStatusError):
                status = cause.response.status_code
                if status == 429:
                    raise _RateLimited(retry_after_seconds(cause.response.headers.get("Retry-After"))) from None
                raise RpcUnavailable(f"HTTP {status}") from None
            if isinstance(cause, httpx2.TimeoutException):
                raise RpcUnavailable(f"timed out ({type(cause).__name__})") from None
            raise RpcUnavailable(f"unreachable ({type(cause).__name__ if cause else exc})") from None
        except (ValidationError, ValueError) as exc:
            raise RpcMalformed(f"answer is not a JSON-RPC response: {str(exc)[:120]}") from None

    def _call(self, method: str, request: Any, result_type: Any = Any) -> Any:
        """Endpoints in order, passes with jittered pauses, the breaker asked before each attempt."""
        last_problem = "no endpoint tried"
        rate_limited_all = True
        shortest_wait: float | None = None
        for round_no in range(self.retry.rounds):
            tried = 0
            for url in self.urls:
                if not self.circuits.allows(url):
                    continue
                tried += 1
                try:
                    result = self._post(url, request, result_type)
                except RpcRequestError:
                    self.circuits.success(url)  # the node is healthy; the request is wrong
                    raise
                except _RateLimited as limited:
                    wait = max(limited.retry_after if limited.retry_after is not None else DEFAULT_RETRY_AFTER, 1.0)
                    self.circuits.failure(url, "rate limited", retry_after=wait)
                    shortest_wait = wait if shortest_wait is None else min(shortest_wait, wait)
                    last_problem = f"{url} rate limited"
                    continue
                except (RpcUnavailable, RpcMalformed) as exc:
                    rate_limited_all = False
                    last_problem = f"{url}: {exc}"
                    self.circuits.failure(url, str(exc))
                    continue
                self.circuits.success(url)
                return result
            if tried == 0:
                last_problem = "every endpoint is benched (circuit open or rate limited)"
            if round_no + 1 < self.retry.rounds:
                self.sleep(self.retry.pause(round_no))
        raise RpcUnavailable(
            f"{method}: {last_problem}",
            rate_limited=rate_limited_all and shortest_wait is not None,
            retry_after=shortest_wait,
        )

    # --- typed methods -------------------------------------------------------------------------------

    def _token_accounts(self, owner: str, where: Any) -> tuple[int | None, list[RpcKeyedAccountJsonParsed]]:
        config = RpcAccountInfoConfig(encoding=UiAccountEncoding.JsonParsed, commitment=_commitment())
        result = self._call("getTokenAccountsByOwner", GetTokenAccountsByOwner(_pubkey(owner), where, config), dict)
        try:
            slot = result.get("context", {}).get("slot")
            value = result["value"]
            if not isinstance(value, list):
                raise TypeError("value is not a list")
            return slot, [RpcKeyedAccountJsonParsed.from_json(json.dumps(v)) for v in value]
        except Exception as exc:  # solders raises its own (SerdeJSONError) on a wrong shape
            raise RpcMalformed(f"getTokenAccountsByOwner answer malformed: {exc}") from None

    def get_token_holding(self, owner: str, mint: str) -> TokenHolding:
        """Sum of every token account of `mint` owned by `owner` (SPL Token and Token-2022 alike: the
        mint filter covers both), in base units from `tokenAmount.amount`, never the float uiAmount."""
        slot, accounts = self._token_accounts(owner, RpcTokenAccountsFilterMint(_pubkey(mint)))
        total = 0
        decimals: int | None = None
        for entry in accounts:
            amount, these_decimals = _read_account(entry, owner=owner, mint=mint)
            if decimals is not None and decimals != these_decimals:
                raise RpcMalformed("token accounts disagree on decimals")
            decimals = these_decimals
            total += amount
        return TokenHolding(owner=owner, mint=mint, amount=total, decimals=decimals, accounts=len(accounts), slot=slot)

    def get_token_accounts(self, owner: str, mint: str) -> list[TokenAccount]:
        """Every token account of `mint` that `owner` holds, asked under both token programs (a mint
        belongs to one of them; asking both keeps the answer right whichever it is)."""
        found: list[TokenAccount] = []
        for program in TOKEN_PROGRAMS:
            _, accounts = self._token_accounts(owner, RpcTokenAccountsFilterProgramId(program))
            for entry in accounts:
                if _parsed_info(entry).get("mint") != mint:
                    continue
                amount, decimals = _read_account(entry, owner=owner, mint=mint)
                found.append(
                    TokenAccount(pubkey=str(entry.pubkey), program=str(program), amount=amount, decimals=decimals)
                )
        return found

    def get_signatures(
        self, address: str, *, limit: int = 50, before: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        config = RpcSignaturesForAddressConfig(
            before=_signature(before) if before else None,
            until=_signature(until) if until else None,
            limit=max(1, min(limit, 1000)),
            commitment=_commitment(),
        )
        result = self._call("getSignaturesForAddress", GetSignaturesForAddress(_pubkey(address), config), list)
        try:
            rows = [RpcConfirmedTransactionStatusWithSignature.from_json(json.dumps(r)) for r in result]
        except Exception as exc:
            raise RpcMalformed(f"getSignaturesForAddress answer malformed: {exc}") from None
        return [json.loads(row.to_json()) for row in rows]

    def get_transaction(self, signature: str) -> dict[str, Any] | None:
        config = RpcTransactionConfig(
            encoding=UiTransactionEncoding.JsonParsed, commitment=_commitment(), max_supported_transaction_version=0
        )
        result = self._call("getTransaction", GetTransaction(_signature(signature), config), Any)
        if result is None:
            return None
        try:
            parsed = EncodedConfirmedTransactionWithStatusMeta.from_json(json.dumps(result))
        except Exception as exc:
            raise RpcMalformed(f"getTransaction answer malformed: {exc}") from None
        return json.loads(parsed.to_json())


def _pubkey(value: str) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise RpcRequestError(-32602, f"not a base58 public key: {value[:50]!r}") from None


def _signature(value: str) -> Signature:
    try:
        return Signature.from_string(value)
    except ValueError:
        raise RpcRequestError(-32602, f"not a base58 signature: {value[:100]!r}") from None


def _parsed_info(entry: RpcKeyedAccountJsonParsed) -> dict[str, Any]:
    parsed = entry.account.data.parsed
    return parsed.get("info", {}) if isinstance(parsed, dict) else {}


def _read_account(entry: RpcKeyedAccountJsonParsed, *, owner: str, mint: str) -> tuple[int, int]:
    if entry.account.owner not in TOKEN_PROGRAMS:
        raise RpcMalformed(f"token account owned by {entry.account.owner}")
    info = _parsed_info(entry)
    if info.get("mint") != mint or info.get("owner") != owner:
        raise RpcMalformed("token account for another mint or owner")
    try:
        raw = info["tokenAmount"]["amount"]
        if not isinstance(raw, str) or not raw.isdigit():
            raise RpcMalformed("tokenAmount.amount is not a string of digits")
        return int(raw), int(info["tokenAmount"]["decimals"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RpcMalformed(f"token account malformed: {exc}") from None


def get_client(*, interactive: bool = False) -> SolanaRpcClient:
    """The client the services use (tests replace its transport, not this function).
    `interactive`: a user is waiting (one pass over the endpoints, shorter timeout)."""
    if interactive:
        return SolanaRpcClient(max_rounds=1, timeout=min(settings.SOLANA_RPC_TIMEOUT_SECONDS, 5.0))
    return SolanaRpcClient()
