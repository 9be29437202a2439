"""The real Solana client (solana-py under our layer) against recorded answers replayed through its
HTTP transport: parsing, errors, retries, failover, rate limits and the circuit breaker."""

import httpx
import pytest

from apps.wallet.clients.solana_rpc import RpcMalformed, RpcRequestError, RpcUnavailable, SolanaRpcClient
from tests.wallet.conftest import MINT, OWNER, RPC_1, RPC_2, fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    c = SolanaRpcClient(sleep=sleeps.append, backoff=0.5, breaker_failures=3, breaker_cooldown=60)
    yield c
    c.close()


def test_several_token_accounts_are_summed_in_base_units(rpc, client):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    holding = client.get_token_holding(OWNER, MINT)
    assert holding.amount == 1_250_000_000_000 + 37_500_123
    assert holding.decimals == 6 and holding.accounts == 2 and holding.slot == 341234567
    url, method, params = rpc.calls[0]
    assert url == RPC_1 and method == "getTokenAccountsByOwner"
    assert params[0] == OWNER and params[1] == {"mint": MINT} and params[2]["encoding"] == "jsonParsed"


def test_no_token_account_is_zero(rpc, client):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_empty"))
    holding = client.get_token_holding(OWNER, MINT)
    assert holding.amount == 0 and holding.decimals is None and holding.accounts == 0


def test_token_2022_accounts_count_too(rpc, client):
    answer = fixture("solana_getTokenAccountsByOwner_jsonParsed")
    answer["result"]["value"][1]["account"]["owner"] = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
    rpc.on("getTokenAccountsByOwner", answer)
    assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123


def test_answer_for_another_mint_is_malformed(rpc, client):
    answer = fixture("solana_getTokenAccountsByOwner_jsonParsed")
    answer["result"]["value"][0]["account"]["data"]["parsed"]["info"]["mint"] = OWNER
    rpc.on("getTokenAccountsByOwner", answer)
    with pytest.raises(RpcMalformed):
        client.get_token_holding(OWNER, MINT)


def test_invalid_params_error_is_raised_at_once_without_retry(rpc, client):
    rpc.on("getTokenAccountsByOwner", fixture("solana_error_invalid_param"))
    with pytest.raises(RpcRequestError) as err:
        client.get_token_holding(OWNER, MINT)
    assert err.value.code == -32602
    assert len(rpc.calls) == 1


def test_failover_when_the_first_endpoint_is_down(rpc, client):
    rpc.down(RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123
    assert [c[0] for c in rpc.calls] == [RPC_1, RPC_2]


def test_failover_when_the_first_endpoint_rate_limits_over_json_rpc(rpc, client):
    rpc.on("getTokenAccountsByOwner", fixture("solana_error_rate_limited"), url=RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123
    # The rate-limited endpoint is benched: the next call goes straight to the second one.
    client.get_token_holding(OWNER, MINT)
    assert [c[0] for c in rpc.calls] == [RPC_1, RPC_2, RPC_2]


def test_http_429_retry_after_is_respected(rpc, client):
    rpc.on("getTokenAccountsByOwner", httpx.Response(429, headers={"Retry-After": "30"}, text="slow down"), url=RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    client.get_token_holding(OWNER, MINT)
    assert client.endpoint_states()[0]["open"] is True
    assert client.endpoint_states()[1]["open"] is False


def test_everything_rate_limited_says_so(rpc, client):
    rpc.on("getTokenAccountsByOwner", httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RpcUnavailable) as err:
        client.get_token_holding(OWNER, MINT)
    assert err.value.rate_limited is True and err.value.retry_after == 7
    assert len(rpc.calls) == 2  # each endpoint once; benched endpoints are not hammered


@pytest.mark.parametrize(
    "bad",
    [
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"jsonrpc": "2.0", "id": 1}),
        httpx.ReadTimeout("late"),
    ],
)
def test_errors_late_or_malformed_answers_fail_over(rpc, client, bad):
    rpc.on("getTokenAccountsByOwner", bad, url=RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123


def test_retries_with_jittered_backoff_then_gives_up(rpc, client, sleeps):
    rpc.down(RPC_1)
    rpc.down(RPC_2)
    with pytest.raises(RpcUnavailable):
        client.get_token_holding(OWNER, MINT)
    assert len(rpc.calls) == 2 * client.max_rounds
    assert len(sleeps) == client.max_rounds - 1
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_retry_round_recovers_a_flaky_endpoint(rpc, client, sleeps):
    answers = iter([httpx.ConnectError("down"), fixture("solana_getTokenAccountsByOwner_jsonParsed")])
    rpc.on("getTokenAccountsByOwner", lambda params: next(answers), url=RPC_1)
    rpc.down(RPC_2)
    assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123
    assert len(sleeps) == 1


def test_circuit_breaker_opens_after_consecutive_failures_and_is_shared(rpc, client):
    rpc.down(RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    for _ in range(3):
        client.get_token_holding(OWNER, MINT)
    assert client.endpoint_states()[0]["open"] is True
    before = len(rpc.calls_to(url=RPC_1))
    # A fresh client (another worker) sees the open circuit through the cache.
    with SolanaRpcClient() as other:
        other.get_token_holding(OWNER, MINT)
    assert len(rpc.calls_to(url=RPC_1)) == before


def test_signatures_and_transaction_parsing(rpc, client):
    rpc.on("getSignaturesForAddress", fixture("solana_getSignaturesForAddress"))
    rpc.on("getTransaction", fixture("solana_getTransaction_jsonParsed_swap"))
    until = fixture("solana_getSignaturesForAddress")["result"][-1]["signature"]
    sigs = client.get_signatures(OWNER, limit=5, until=until)
    assert len(sigs) == 5 and sigs[3]["err"] is not None
    assert rpc.calls[0][2][1]["until"] == until
    tx = client.get_transaction(sigs[0]["signature"])
    assert tx["slot"] == 341234500
    assert rpc.calls[1][2][1]["maxSupportedTransactionVersion"] == 0
    assert rpc.calls[1][2][1]["encoding"] == "jsonParsed"


def _redis_cache(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "sk-wallet-test",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }


@pytest.mark.redis
def test_breaker_state_is_shared_through_redis(rpc, redis_url, settings):
    from django.core.cache import cache

    settings.CACHES = _redis_cache(redis_url)
    cache.clear()
    rpc.down(RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    with SolanaRpcClient(breaker_failures=2, sleep=lambda s: None) as first:
        first.get_token_holding(OWNER, MINT)
        first.get_token_holding(OWNER, MINT)
    before = len(rpc.calls_to(url=RPC_1))
    with SolanaRpcClient(sleep=lambda s: None) as second:
        assert second.endpoint_states()[0]["open"] is True
        second.get_token_holding(OWNER, MINT)
    assert len(rpc.calls_to(url=RPC_1)) == before
    cache.clear()


def test_lost_redis_degrades_to_no_breaker_and_a_refresh_limit_in_postgres(rpc, settings, user, make_client):
    from apps.wallet.models import WalletConnection

    settings.CACHES = _redis_cache("redis://127.0.0.1:1/0")  # nothing listens there
    settings.LIMITS_REDIS_URL = "redis://127.0.0.1:1/0"
    rpc.down(RPC_1)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    with SolanaRpcClient(breaker_failures=1, sleep=lambda s: None) as client:
        assert client.get_token_holding(OWNER, MINT).amount == 1_250_037_500_123
    WalletConnection.objects.create(user=user, address=OWNER, verified=True, is_primary=True)
    api = make_client(user)
    assert api.post("/api/wallet/refresh").status_code == 200
    # The limiter falls back to its PostgreSQL counters: still limited, never a 500.
    assert api.post("/api/wallet/refresh").status_code == 429
