"""Wallet test kit: a generated keypair that signs real SIWS messages, and a JSON-RPC replayer that
answers the real solana-py client (through its HTTP transport) from the recorded fixtures."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import base58
import httpx
import httpx2
import pytest
from django.core.cache import cache
from solders.keypair import Keypair

from apps.accounts import identity
from apps.wallet.clients import solana_rpc
from apps.wallet.events import HolderTierChanged, WalletUnlinked, WalletVerified

FIXTURES = Path(__file__).parent / "fixtures"
RPC_1 = "http://rpc-1.test"
RPC_2 = "http://rpc-2.test"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


ADDRESSES = fixture("addresses")
MINT = ADDRESSES["mint"]
OWNER = ADDRESSES["owner"]


@pytest.fixture(autouse=True)
def _wallet_settings(settings):
    settings.TOKEN_MINT = MINT
    settings.SOLANA_RPC_URLS = [RPC_1, RPC_2]
    settings.SOLANA_RPC_BACKOFF_SECONDS = 0
    settings.WALLET_REFRESH_PAUSE_SECONDS = 0
    settings.SIWS_DOMAIN = "successkid.test"
    settings.SIWS_URI = "https://successkid.test"
    settings.SIWS_CHAIN_ID = "mainnet"
    settings.HOLDER_TIERS = [("none", 0), ("holder", 1_000_000), ("whale", 100_000_000)]
    settings.HOLDER_TIER_GRACE_SECONDS = 3600
    cache.clear()
    yield
    cache.clear()


class Chain:
    """A replayed chain that answers per method AND per address, like a node: the token accounts an
    owner holds (per token program, or per mint), each address's own signatures (newest first,
    honouring `before`/`until`/`limit`), each transaction by signature. An address it does not know
    has no accounts and no signatures, an unknown signature is `null`, an unknown method is the
    node's -32601: a test that asks the wrong address gets nothing."""

    METHOD_NOT_FOUND = {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": 1}

    def __init__(self, cassette: dict[str, Any] | None = None) -> None:
        cassette = cassette or {}
        self.accounts: dict[str, dict[str, Any]] = cassette.get("getTokenAccountsByOwner", {})
        self.signatures: dict[str, list[dict]] = {
            a: answer["result"] for a, answer in cassette.get("getSignaturesForAddress", {}).items()
        }
        self.transactions: dict[str, dict] = cassette.get("getTransaction", {})
        self.slot = 341300000

    def _envelope(self, result: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "result": result, "id": 1}

    def get_token_accounts_by_owner(self, params: list) -> dict[str, Any]:
        owner, where = params[0], params[1]
        per_program = self.accounts.get(owner, {})
        if "programId" in where:
            answer = per_program.get(where["programId"])
            if answer is not None:
                return answer
            return self._envelope({"context": {"apiVersion": "2.2.3", "slot": self.slot}, "value": []})
        value, slot = [], self.slot
        for answer in per_program.values():
            slot = answer["result"]["context"]["slot"]
            value += [
                v
                for v in answer["result"]["value"]
                if v["account"]["data"]["parsed"]["info"]["mint"] == where.get("mint")
            ]
        return self._envelope({"context": {"apiVersion": "2.2.3", "slot": slot}, "value": value})

    def get_signatures_for_address(self, params: list) -> dict[str, Any]:
        address = params[0]
        config = params[1] if len(params) > 1 else {}
        rows = list(self.signatures.get(address, []))
        if config.get("before"):
            names = [r["signature"] for r in rows]
            rows = rows[names.index(config["before"]) + 1 :] if config["before"] in names else []
        if config.get("until"):
            names = [r["signature"] for r in rows]
            rows = rows[: names.index(config["until"])] if config["until"] in names else rows
        return self._envelope(rows[: config.get("limit", 1000)])

    def get_transaction(self, params: list) -> dict[str, Any]:
        return copy.deepcopy(self.transactions.get(params[0])) or self._envelope(None)

    def handlers(self) -> dict[str, Any]:
        return {
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTransaction": self.get_transaction,
            "*": self.METHOD_NOT_FOUND,
        }


class FakeRpc:
    """Answers JSON-RPC POSTs per endpoint and method. A handler is a body (dict), an httpx.Response,
    an exception to raise, or a callable(params) returning one of those. By default both endpoints
    replay an empty chain (`Chain`); `replay(cassette)` loads a recorded one; `on` overrides a method."""

    def __init__(self) -> None:
        self.handlers: dict[str, dict[str, Any]] = {RPC_1: Chain().handlers(), RPC_2: Chain().handlers()}
        self.calls: list[tuple[str, str, list]] = []
        self.transport = httpx2.MockTransport(self._respond)

    def replay(self, cassette: dict[str, Any]) -> Chain:
        chain = Chain(cassette)
        for url in (RPC_1, RPC_2):
            self.handlers[url] = chain.handlers()
        return chain

    def on(self, method: str, answer: Any, *, url: str | None = None) -> None:
        for target in [url] if url else [RPC_1, RPC_2]:
            self.handlers[target][method] = answer

    def down(self, url: str) -> None:
        self.handlers[url] = {"*": httpx.ConnectError("connection refused")}

    def calls_to(self, method: str | None = None, url: str | None = None) -> list[tuple[str, str, list]]:
        return [c for c in self.calls if (method is None or c[1] == method) and (url is None or c[0] == url)]

    def _respond(self, request: httpx2.Request) -> httpx2.Response:
        url = f"{request.url.scheme}://{request.url.host}"
        body = json.loads(request.content)
        method, params = body["method"], body.get("params", [])
        self.calls.append((url, method, params))
        handlers = self.handlers.get(url, {})
        answer = handlers.get(method, handlers.get("*"))
        if callable(answer) and not isinstance(answer, type):
            answer = answer(params)
        if answer is None:
            raise httpx2.ConnectError("connection refused", request=request)
        if isinstance(answer, Exception):
            # Tests speak httpx; solana-py's session is httpx2: the same error by name.
            raise getattr(httpx2, type(answer).__name__, httpx2.TransportError)(str(answer), request=request)
        if isinstance(answer, httpx.Response):
            return httpx2.Response(answer.status_code, headers=dict(answer.headers), content=answer.content)
        answer = copy.deepcopy(answer)
        answer["id"] = body["id"]
        return httpx2.Response(200, json=answer)


@pytest.fixture
def rpc(monkeypatch):
    """Every Solana RPC client in the process talks to this replay (through its HTTP transport)."""
    fake = FakeRpc()
    monkeypatch.setattr(solana_rpc, "default_transport", lambda: fake.transport)
    return fake


def holding_answer(owner: str, amounts: list[int], *, decimals: int = 6, slot: int = 341234567) -> dict[str, Any]:
    """A getTokenAccountsByOwner answer shaped like the recorded one, for any owner and amounts."""
    base = fixture("solana_getTokenAccountsByOwner_jsonParsed")
    template = base["result"]["value"][0]
    accounts = []
    for i, amount in enumerate(amounts):
        entry = copy.deepcopy(template)
        entry["pubkey"] = str(Keypair().pubkey()) if i else template["pubkey"]
        info = entry["account"]["data"]["parsed"]["info"]
        info["owner"] = owner
        info["tokenAmount"] = {
            "amount": str(amount),
            "decimals": decimals,
            "uiAmount": amount / 10**decimals,
            "uiAmountString": str(amount / 10**decimals),
        }
        accounts.append(entry)
    base["result"]["value"] = accounts
    base["result"]["context"]["slot"] = slot
    return base


def whole(tokens: int, decimals: int = 6) -> int:
    return tokens * 10**decimals


# --- signing ------------------------------------------------------------------------------------------


class Wallet:
    def __init__(self, keypair: Keypair | None = None) -> None:
        self.keypair = keypair or Keypair()
        self.address = str(self.keypair.pubkey())

    def sign(self, message: str | bytes) -> str:
        raw = message.encode() if isinstance(message, str) else message
        return str(self.keypair.sign_message(raw))  # base58

    def sign_raw(self, data: bytes) -> bytes:
        return bytes(self.keypair.sign_message(data))


@pytest.fixture
def wallet() -> Wallet:
    return Wallet()


def challenge(client, address: str, *, link: bool = False) -> dict[str, Any]:
    path = "/api/wallet/connect" if link else "/api/auth/wallet/challenge"
    response = client.post(path, {"address": address}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def login(client, w: Wallet, *, message: str | None = None, signature: str | None = None):
    msg = message if message is not None else challenge(client, w.address)["message"]
    sig = signature if signature is not None else w.sign(msg)
    return client.post("/api/auth/wallet", {"address": w.address, "message": msg, "signature": sig}, format="json")


def link(client, w: Wallet):
    msg = challenge(client, w.address, link=True)["message"]
    return client.post(
        "/api/wallet/verify", {"address": w.address, "message": msg, "signature": w.sign(msg)}, format="json"
    )


@pytest.fixture
def password_identity():
    """Stands in for the accounts app's password source: accounts with a usable password have a way in."""

    def source(user):
        if getattr(user, "pk", None) and user.has_usable_password():
            return [identity.Identity(kind="password", uid=str(user.pk), label="password")]
        return []

    identity.register_source(source)
    yield
    identity._sources.remove(source)


@pytest.fixture
def wallet_events():
    from apps.core import events

    got: list = []
    for kind in (HolderTierChanged, WalletVerified, WalletUnlinked):
        events.subscribe(kind, got.append)
    yield got
    for kind in (HolderTierChanged, WalletVerified, WalletUnlinked):
        events.unsubscribe(kind, got.append)


@pytest.fixture
def broadcasts(monkeypatch):
    from apps.core import push

    sent: list[tuple[str, str, Any]] = []
    monkeypatch.setattr(push, "broadcast_now", lambda topic, event, data: sent.append((topic, event, data)))
    return sent


def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()
