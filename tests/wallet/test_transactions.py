"""Token transactions: read once from getSignaturesForAddress + getTransaction, categorised, stored,
filtered and cursor-paginated; and the holding summary."""

import copy
import time

import base58
import pytest
from django.utils import timezone

from apps.wallet import services
from apps.wallet.models import Transaction, WalletConnection, WalletSyncCursor
from tests.wallet.conftest import MINT, OWNER, fixture

pytestmark = pytest.mark.django_db

SIGS = [s["signature"] for s in fixture("solana_getSignaturesForAddress")["result"]]
PAIR = "AQcSGRCYV78YundSsmR85Q98v8LRdxNnMufabQ1G5xvd"
FRIEND = "29jXsuNnvApp7BRvVEcBgHRRuwzkQbnmKdKqT3yCVCDp"
RECENT = int(time.time()) - 86400
S1, NEW1, NEW2 = (base58.b58encode(bytes([n]) * 64).decode() for n in (7, 8, 9))  # well-formed signatures


def _tx(
    pre: dict,
    post: dict,
    *,
    sol_pre=1_000_000_000,
    sol_post=999_995_000,
    program="TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    err=None,
    mint=MINT,
    block_time=None,
):
    answer = copy.deepcopy(fixture("solana_getTransaction_jsonParsed_swap"))
    meta = answer["result"]["meta"]
    template = meta["preTokenBalances"][0]

    def balances(amounts):
        out = []
        for i, (owner, amount) in enumerate(amounts.items()):
            entry = copy.deepcopy(template)
            entry.update({"accountIndex": i + 1, "owner": owner, "mint": mint})
            entry["uiTokenAmount"] = {
                "amount": str(amount),
                "decimals": 6,
                "uiAmount": amount / 1e6,
                "uiAmountString": str(amount / 1e6),
            }
            out.append(entry)
        return out

    meta["preTokenBalances"], meta["postTokenBalances"] = balances(pre), balances(post)
    meta["preBalances"][0], meta["postBalances"][0] = sol_pre, sol_post
    meta["err"] = err
    answer["result"]["transaction"]["message"]["instructions"][0]["programId"] = program
    if block_time:
        answer["result"]["blockTime"] = block_time
    return answer


def _chain():
    swap = fixture("solana_getTransaction_jsonParsed_swap")
    swap["result"]["blockTime"] = RECENT  # bought yesterday
    answers = {
        SIGS[0]: swap,  # buy 1,200,000 through Raydium
        SIGS[1]: _tx({OWNER: 50_000_000_000}, {OWNER: 49_000_000_000, FRIEND: 1_000_000_000}),  # sent 1,000
        SIGS[2]: _tx(
            {"SomeoneElse111111111111111111111111111111111": 5},
            {"SomeoneElse111111111111111111111111111111111": 6},
            mint=PAIR,
        ),
        SIGS[3]: _tx({OWNER: 50_000_000_000}, {OWNER: 50_000_000_000}, err={"InstructionError": [2, {"Custom": 1}]}),
        SIGS[4]: _tx({FRIEND: 80_000_000_000}, {OWNER: 50_000_000_000, FRIEND: 30_000_000_000}),  # received 50,000
    }
    for info in fixture("solana_getSignaturesForAddress")["result"][1:]:
        answers[info["signature"]]["result"]["blockTime"] = info["blockTime"]
    return answers


@pytest.fixture
def chain(rpc):
    answers = _chain()
    rpc.on(
        "getSignaturesForAddress",
        lambda params: (
            fixture("solana_getSignaturesForAddress")
            if not params[1].get("until")
            else {"jsonrpc": "2.0", "result": [], "id": 1}
        ),
    )
    rpc.on("getTransaction", lambda params: answers[params[0]])
    return rpc


@pytest.fixture
def owner_wallet(user):
    return WalletConnection.objects.create(user=user, address=OWNER, verified=True, is_primary=True)


def test_sync_categorises_and_stores_each_transaction_once(owner_wallet, chain):
    services.wallet_transactions_sync(wallet=owner_wallet)
    rows = {t.signature: t for t in Transaction.objects.all()}
    # SIGS[2] did not move this token; SIGS[3] failed (listed with its err, never asked for: no movement)
    assert set(rows) == {SIGS[0], SIGS[1], SIGS[4]}
    assert rows[SIGS[0]].kind == "buy" and rows[SIGS[0]].amount == 1_200_000_000_000
    assert rows[SIGS[0]].counterparty == PAIR and rows[SIGS[0]].fee_lamports == 5000
    assert rows[SIGS[1]].kind == "transfer_out" and rows[SIGS[1]].amount == -1_000_000_000
    assert rows[SIGS[1]].counterparty == FRIEND
    assert rows[SIGS[4]].kind == "transfer_in" and rows[SIGS[4]].amount == 50_000_000_000
    asked = len(chain.calls_to("getTransaction"))
    assert asked == 4

    # The next sync asks only for what came after the newest signature seen: nothing new here.
    services.wallet_transactions_sync(wallet=owner_wallet)
    assert chain.calls_to("getSignaturesForAddress")[-1][2][1]["until"] == SIGS[0]
    assert len(chain.calls_to("getTransaction")) == asked
    assert Transaction.objects.count() == 3


def test_sell_through_a_dex_is_a_sell(owner_wallet, rpc):
    sell = _tx(
        {OWNER: 10_000_000, PAIR: 5},
        {OWNER: 0, PAIR: 10_000_005},
        sol_pre=1_000_000_000,
        sol_post=1_500_000_000,
        program="JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",
    )
    rpc.on(
        "getSignaturesForAddress",
        {"jsonrpc": "2.0", "result": [{"signature": S1, "slot": 1, "err": None, "blockTime": RECENT}], "id": 1},
    )
    rpc.on("getTransaction", sell)
    services.wallet_transactions_sync(wallet=owner_wallet)
    assert Transaction.objects.get().kind == "sell"


def test_malformed_transaction_is_skipped_not_fatal(owner_wallet, rpc):
    rpc.on(
        "getSignaturesForAddress",
        {"jsonrpc": "2.0", "result": [{"signature": S1, "slot": 1, "err": None, "blockTime": RECENT}], "id": 1},
    )
    rpc.on("getTransaction", {"jsonrpc": "2.0", "result": {"meta": "garbage"}, "id": 1})
    assert services.wallet_transactions_sync(wallet=owner_wallet) == 0


def test_transactions_endpoint_filters_and_pages(owner_wallet, chain, make_client, user, django_assert_max_num_queries):
    services.wallet_transactions_sync(wallet=owner_wallet)
    client = make_client(user)
    with django_assert_max_num_queries(4):
        response = client.get("/api/wallet/transactions")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [t["signature"] for t in data] == [SIGS[0], SIGS[1], SIGS[4]]  # newest first
    assert data[0]["type"] == "buy" and data[0]["amount"] == "1200000.000000" and data[0]["block_time"].endswith("Z")

    buys = client.get("/api/wallet/transactions?type=buy").json()["data"]
    assert [t["signature"] for t in buys] == [SIGS[0]]
    recent = client.get(
        "/api/wallet/transactions", {"since": timezone.now().replace(year=2026, month=1, day=1).isoformat()}
    ).json()["data"]
    assert [t["signature"] for t in recent] == [SIGS[0]]

    page1 = client.get("/api/wallet/transactions?limit=2").json()
    assert len(page1["data"]) == 2 and page1["meta"]["pagination"]["next_cursor"]
    page2 = client.get(f"/api/wallet/transactions?limit=2&cursor={page1['meta']['pagination']['next_cursor']}").json()
    assert [t["signature"] for t in page2["data"]] == [SIGS[4]]

    assert client.get("/api/wallet/transactions?type=stolen").status_code == 400
    bad = client.get("/api/wallet/transactions?cursor=%%%garbage")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_transactions_are_private(owner_wallet, chain, make_client):
    services.wallet_transactions_sync(wallet=owner_wallet)
    from tests.factories import UserFactory

    other = make_client(UserFactory())
    assert other.get("/api/wallet/transactions").json()["data"] == []


def test_summary(owner_wallet, chain, make_client, user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    services.user_balances_refresh(user_id=user.pk)  # first refresh syncs the history too
    data = make_client(user).get("/api/wallet/transactions/summary").json()["data"]
    assert data["total_in"] == "1250000.000000"
    assert data["total_out"] == "1000.000000"
    assert data["net"] == "1249000.000000"
    assert data["net_30d"] == "1200000.000000"
    assert data["counterparties"] == 2
    assert data["first_acquired_at"].startswith("2025-11-26")
    assert data["holding_days"] > 0
    assert data["transactions"] == 3


def test_sync_pages_back_until_the_last_seen_signature(owner_wallet, rpc, settings):
    settings.WALLET_TX_PAGE_SIZE = 2
    settings.WALLET_TX_MAX_PAGES = 5
    answers = _chain()
    history = fixture("solana_getSignaturesForAddress")["result"]

    def signatures(params):
        config = params[1]
        rows = history
        if config.get("until"):
            rows = rows[: [r["signature"] for r in rows].index(config["until"])]
        if config.get("before"):
            rows = rows[[r["signature"] for r in rows].index(config["before"]) + 1 :]
        return {"jsonrpc": "2.0", "id": 1, "result": rows[: config["limit"]]}

    rpc.on("getSignaturesForAddress", signatures)
    rpc.on("getTransaction", lambda params: answers[params[0]])
    services.wallet_transactions_sync(wallet=owner_wallet)
    assert Transaction.objects.count() == 3  # all five signatures seen over three pages (one failed)
    assert len([c for c in rpc.calls_to("getSignaturesForAddress") if c[2][0] == OWNER]) == 3

    # Two new signatures arrive (newest first); the next sync pages only down to the last one seen.
    new = [
        {**history[1], "signature": NEW2, "blockTime": RECENT + 20},
        {**history[1], "signature": NEW1, "blockTime": RECENT + 10},
    ]
    answers[NEW2] = answers[NEW1] = answers[SIGS[4]]  # received tokens again
    history[:0] = new
    services.wallet_transactions_sync(wallet=owner_wallet)
    assert Transaction.objects.count() == 5
    owner_calls = [c for c in rpc.calls_to("getSignaturesForAddress") if c[2][0] == OWNER]
    assert owner_calls[-1][2][1]["until"] == SIGS[0]


def test_an_rpc_failure_midway_keeps_what_was_read_and_the_cursor(owner_wallet, rpc):
    answers = _chain()
    rpc.on("getSignaturesForAddress", fixture("solana_getSignaturesForAddress"))
    rpc.on(
        "getTransaction",
        lambda params: answers[params[0]] if params[0] != SIGS[1] else fixture("solana_error_rate_limited"),
    )
    services.wallet_transactions_sync(wallet=owner_wallet)
    # Oldest first: SIGS[4] was read, SIGS[3] failed on chain (not asked), SIGS[2] moved nothing.
    assert set(Transaction.objects.values_list("signature", flat=True)) == {SIGS[4]}
    assert not WalletSyncCursor.objects.exists()  # not advanced past what was not read

    import django.core.cache

    django.core.cache.cache.clear()  # the benched endpoints come back
    rpc.on("getTransaction", lambda params: answers[params[0]])
    before = len(rpc.calls_to("getTransaction"))
    services.wallet_transactions_sync(wallet=owner_wallet)
    assert Transaction.objects.count() == 3
    asked = [c[2][0] for c in rpc.calls_to("getTransaction")[before:]]
    assert SIGS[4] not in asked  # stored ones are not asked again
