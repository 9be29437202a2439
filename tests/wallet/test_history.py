"""Wallet history as the chain really is: read per token account (Token and Token-2022), merged with
the owner's own signatures, classified from the owner's token balances, reconciled with the balance
history. Replayed from recorded-shape cassettes that answer per address and per method."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from apps.wallet import services
from apps.wallet.clients.solana_rpc import get_client
from apps.wallet.models import BalanceHistory, Transaction, WalletConnection, WalletSyncCursor
from tests.factories import UserFactory
from tests.wallet.conftest import RPC_1, fixture, holding_answer

pytestmark = pytest.mark.django_db

MAIN = fixture("history_main")
FEE = fixture("history_token2022_fee")
NAMES = MAIN["names"]
OWNER = MAIN["owner"]
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ATA_A = "2XZh9LecgN4ddbLFYucCsmJhrZyRFnkRK9J9MjQ4HcsF"
ATA_B = "W7GRoUg2SUZ9nA4CZJcp14HMomyP2YZ2uSAG54j5PZx"
M = 10**6


@pytest.fixture
def holder(db):
    user = UserFactory()
    WalletConnection.objects.create(user=user, address=OWNER, verified=True, is_primary=True)
    return user


@pytest.fixture
def main_chain(rpc):
    rpc.replay(MAIN)
    return rpc


def _refresh(client, django_capture_on_commit_callbacks):
    # POST /api/wallet/refresh checks the balance, then a worker (eager here) syncs the history.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/wallet/refresh")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def _movements(client) -> dict[str, dict]:
    response = client.get("/api/wallet/transactions?limit=100")
    assert response.status_code == 200
    return {row["signature"]: row for row in response.json()["data"]}


def test_the_replayed_chain_answers_per_address_and_method(main_chain):
    with get_client() as client:
        assert client.get_signatures("11111111111111111111111111111112") == []  # an address it does not know
        assert [s["signature"] for s in client.get_signatures(ATA_B)] == [
            NAMES["burn"],
            NAMES["friend-pays-second-account"],
            NAMES["open-second-account"],
        ]
        assert NAMES["exchange-withdrawal"] not in {s["signature"] for s in client.get_signatures(OWNER)}
        assert client.get_transaction("1" * 64) is None  # a well-formed signature it never saw
        assert client.get_token_accounts("11111111111111111111111111111112", MAIN["mint"]) == []
    # A method it does not replay is the node's "method not found", not some other method's answer.
    assert main_chain.handlers[RPC_1]["*"]["error"]["code"] == -32601


def test_incoming_transfers_the_owner_address_does_not_list_are_in_the_history(
    holder, main_chain, make_client, django_capture_on_commit_callbacks
):
    client = make_client(holder)
    _refresh(client, django_capture_on_commit_callbacks)
    rows = _movements(client)
    withdrawal = rows[NAMES["exchange-withdrawal"]]
    assert withdrawal["type"] == "transfer_in" and withdrawal["amount"] == "50000.000000"
    assert withdrawal["counterparty"] == MAIN["parties"]["exchange"]
    assert withdrawal["fee_lamports"] == 0  # the exchange paid it
    to_second = rows[NAMES["friend-pays-second-account"]]
    assert to_second["type"] == "transfer_in" and to_second["amount"] == "2500.000000"
    assert to_second["counterparty"] == MAIN["parties"]["friend"]
    # Asked per token account, under both token programs.
    asked = {c[2][0] for c in main_chain.calls_to("getSignaturesForAddress")}
    assert asked >= {OWNER, ATA_A, ATA_B}
    programs = {c[2][1].get("programId") for c in main_chain.calls_to("getTokenAccountsByOwner")}
    assert {TOKEN, TOKEN_2022} <= programs


def test_every_movement_is_classified(holder, main_chain, make_client, django_capture_on_commit_callbacks):
    client = make_client(holder)
    _refresh(client, django_capture_on_commit_callbacks)
    got = {sig: (row["type"], row["amount"]) for sig, row in _movements(client).items()}
    assert got == {
        NAMES["buy-through-jupiter"]: ("buy", "1200000.000000"),  # DEX swap, several token balances
        NAMES["exchange-withdrawal"]: ("transfer_in", "50000.000000"),
        NAMES["open-second-account"]: ("self_transfer", "0.000000"),  # between the owner's own accounts
        NAMES["friend-pays-second-account"]: ("transfer_in", "2500.000000"),
        NAMES["pay-friend"]: ("transfer_out", "-1000.000000"),
        NAMES["burn"]: ("burn", "-500.000000"),
        NAMES["mint-to"]: ("mint", "100.000000"),
        NAMES["close-old-account"]: ("account_closed", "0.000000"),
    }
    # The failed transfer and the SOL payment moved none of the token: no movement.
    assert NAMES["failed-transfer"] not in got and NAMES["sol-payment"] not in got
    rows = _movements(client)
    assert rows[NAMES["buy-through-jupiter"]]["counterparty"] == MAIN["parties"]["pool"]
    assert rows[NAMES["pay-friend"]]["counterparty"] == MAIN["parties"]["friend"]
    assert rows[NAMES["mint-to"]]["counterparty"] == ""


def test_two_token_accounts_make_one_balance(holder, main_chain, make_client, django_capture_on_commit_callbacks):
    data = _refresh(make_client(holder), django_capture_on_commit_callbacks)
    assert data["wallets"][0]["token_accounts"] == 2
    assert data["wallets"][0]["balance"] == "1251100.000000"


def test_token_2022_transfer_with_a_fee(rpc, settings, make_client, django_capture_on_commit_callbacks):
    settings.TOKEN_MINT = FEE["mint"]
    settings.TOKEN_DECIMALS = FEE["decimals"]
    rpc.replay(FEE)
    user = UserFactory()
    WalletConnection.objects.create(user=user, address=FEE["owner"], verified=True, is_primary=True)
    client = make_client(user)
    _refresh(client, django_capture_on_commit_callbacks)
    rows = list(_movements(client).values())
    assert len(rows) == 1
    # 1,000 sent, 1% withheld as the transfer fee: 990 arrived.
    assert rows[0]["type"] == "transfer_in" and rows[0]["amount"] == "990.000000000"
    assert rows[0]["counterparty"] == FEE["parties"]["sender"]
    cursor = WalletSyncCursor.objects.exclude(role="owner").get()
    assert cursor.role == TOKEN_2022


def test_summary_and_balance_history_agree_with_the_movements(
    holder, rpc, make_client, django_capture_on_commit_callbacks
):
    """Between two balance snapshots, the movements add up to the difference."""
    client = make_client(holder)
    wallet = WalletConnection.objects.get(user=holder)
    # Snapshot 1: the balance as a node saw it right after the exchange withdrawal.
    chain = rpc.replay(MAIN)
    rpc.on(
        "getTokenAccountsByOwner",
        lambda params: (
            holding_answer(OWNER, [MAIN["balances"]["after_withdrawal"]], slot=MAIN["slots"]["after_withdrawal"])
            if "mint" in params[1]
            else chain.get_token_accounts_by_owner(params)
        ),
    )
    services.wallet_balance_refresh(wallet=wallet, use_cache=False)
    # Snapshot 2: now; the history syncs too.
    rpc.replay(MAIN)
    _refresh(client, django_capture_on_commit_callbacks)
    first, last = BalanceHistory.objects.filter(wallet=wallet).order_by("slot")
    assert (first.amount, last.amount) == (MAIN["balances"]["after_withdrawal"], MAIN["balances"]["final"])

    moved = sum(
        Decimal(row["amount_base"]) for row in _movements(client).values() if first.slot < row["slot"] <= last.slot
    )
    assert moved == last.amount - first.amount == 1_100 * M
    # From the start (the wallet held nothing before its first movement), movements add up to the balance.
    assert Transaction.objects.filter(wallet=wallet).aggregate(t=Sum("amount"))["t"] == last.amount

    summary = client.get("/api/wallet/transactions/summary").json()["data"]
    assert summary["total_in"] == "1252600.000000"  # 1,200,000 + 50,000 + 2,500 + 100
    assert summary["total_out"] == "1500.000000"  # 1,000 sent + 500 burned
    assert summary["net"] == "1251100.000000" == client.get("/api/wallet/balance").json()["data"]["total"]
    assert summary["counterparties"] == 3  # the pool, the exchange, the friend
    assert summary["first_movement_at"] < summary["last_movement_at"]
    assert summary["transactions"] == 8


def test_each_address_keeps_its_cursor(holder, main_chain):
    wallet = WalletConnection.objects.get(user=holder)
    services.wallet_transactions_sync(wallet=wallet)
    cursors = {c.address: c for c in WalletSyncCursor.objects.filter(wallet=wallet)}
    assert cursors[OWNER].signature == NAMES["sol-payment"]
    assert cursors[ATA_A].signature == NAMES["mint-to"] and cursors[ATA_A].role == TOKEN
    assert cursors[ATA_B].signature == NAMES["burn"]
    # The closed account was found through the owner's transactions and read too.
    closed = [c for c in cursors.values() if c.role == "closed"]
    assert [c.signature for c in closed] == [NAMES["close-old-account"]]

    # A second sync asks each address only for what came after its own cursor, and reads nothing again.
    asked_before = len(main_chain.calls_to("getTransaction"))
    services.wallet_transactions_sync(wallet=wallet)
    until = {c[2][0]: c[2][1].get("until") for c in main_chain.calls_to("getSignaturesForAddress")[-3:]}
    assert until == {OWNER: NAMES["sol-payment"], ATA_A: NAMES["mint-to"], ATA_B: NAMES["burn"]}
    assert len(main_chain.calls_to("getTransaction")) == asked_before
    assert Transaction.objects.filter(wallet=wallet).count() == 8


def test_transaction_filters_come_from_the_filter_set(holder, main_chain, make_client):
    services.wallet_transactions_sync(wallet=WalletConnection.objects.get(user=holder))
    client = make_client(holder)

    def sigs(query: str) -> set[str]:
        response = client.get(f"/api/wallet/transactions?limit=100&{query}")
        assert response.status_code == 200, response.content
        return {row["signature"] for row in response.json()["data"]}

    assert sigs("direction=in") == {
        NAMES[n] for n in ("buy-through-jupiter", "exchange-withdrawal", "friend-pays-second-account", "mint-to")
    }
    assert sigs("direction=out") == {NAMES["pay-friend"], NAMES["burn"]}
    assert sigs("direction=none") == {NAMES["open-second-account"], NAMES["close-old-account"]}
    # from (inclusive) / to (exclusive) on the block time
    tx = MAIN["getTransaction"]
    t = {name: tx[sig]["result"]["blockTime"] for name, sig in NAMES.items()}
    from datetime import UTC, datetime

    def iso(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")

    window = f"from={iso(t['friend-pays-second-account'])}&to={iso(t['burn'])}"
    assert sigs(window) == {NAMES["friend-pays-second-account"], NAMES["pay-friend"]}
    assert sigs(f"direction=in&{window}") == {NAMES["friend-pays-second-account"]}

    for bad in ("direction=sideways", "from=yesterday", "type=failed"):
        response = client.get(f"/api/wallet/transactions?{bad}")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error" and list(error["details"]) == [bad.split("=")[0]]
