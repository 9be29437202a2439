"""The one breaker and retry policy: the rules, and that the price sources and the Solana RPC both
live by them (a 429's Retry-After, the circuit after a run of failures, the half-open probe)."""

from datetime import timedelta

import httpx2
import pytest
from django.utils import timezone

from apps.core.resilience import OPEN, Breaker, Circuit, retry_after_seconds
from apps.market import health
from apps.market.models import SourceHealth
from apps.wallet.clients import solana_rpc


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 90) == 90
    assert retry_after_seconds("999999") == 3600  # capped
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_breaker_backs_off_opens_and_probes():
    breaker = Breaker(threshold=3, cooldown=60, backoff=5, backoff_max=40)
    circuit, delay = breaker.failed(Circuit(), now=0)
    assert (circuit.failures, circuit.state, delay) == (1, "closed", 5)
    circuit, delay = breaker.failed(circuit, now=0, retry_after=120)
    assert delay == 120  # a 429's Retry-After wins over a shorter back-off
    circuit, delay = breaker.failed(circuit, now=0)
    assert circuit.state == OPEN and delay == 60 and not circuit.allows(59)
    assert breaker.probe(circuit, now=61).state == "half_open"
    assert breaker.succeeded(circuit) == Circuit()


@pytest.mark.django_db
def test_market_sources_and_the_rpc_share_the_one_breaker(monkeypatch, settings):
    used: list[Breaker] = []
    original = Breaker.failed

    def spy(self, circuit, **kwargs):
        used.append(self)
        return original(self, circuit, **kwargs)

    monkeypatch.setattr(Breaker, "failed", spy)
    health.record_failure(source="dexscreener", now=timezone.now(), error="HTTP 429", retry_after=30)
    row = SourceHealth.objects.get(source="dexscreener")
    assert row.backoff_until >= timezone.now() + timedelta(seconds=29)

    transport = httpx2.MockTransport(lambda r: httpx2.Response(429, headers={"Retry-After": "45"}))
    client = solana_rpc.SolanaRpcClient(["http://rpc-1.test"], max_rounds=1, transport=transport)
    with pytest.raises(solana_rpc.RpcUnavailable) as err:
        client.get_token_holding("GkYtZHzX4k8WogvRgvyZ8qrhq8Q2Qh2BELTXoWT7iyKV", settings.TOKEN_MINT)
    assert err.value.rate_limited and err.value.retry_after == 45
    assert len(used) == 2 and all(type(b) is Breaker for b in used)  # one class, both callers
