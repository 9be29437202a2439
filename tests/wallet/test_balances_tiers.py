"""Balances from recorded RPC answers, holder tiers with a grace period, refresh scheduling."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Profile
from apps.wallet import services
from apps.wallet.events import HolderTierChanged
from apps.wallet.models import BalanceHistory, HolderStatus, TokenBalance, WalletConnection
from apps.wallet.tasks import refresh_due_batch
from tests.factories import UserFactory
from tests.wallet.conftest import OWNER, RPC_2, fixture, holding_answer, whole

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_user(db):
    """An account holding the fixture owner's wallet (1,250,037.500123 tokens over two accounts)."""
    user = UserFactory()
    WalletConnection.objects.create(
        user=user, address=OWNER, verified=True, is_primary=True, verified_at=timezone.now()
    )
    return user


def test_balance_endpoint_after_refresh(
    make_client, owner_user, rpc, django_capture_on_commit_callbacks, wallet_events, broadcasts
):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    rpc.on("getSignaturesForAddress", {"jsonrpc": "2.0", "result": [], "id": 1})
    client = make_client(owner_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/wallet/refresh")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["total"] == "1250037.500123" and data["total_base"] == "1250037500123"
    assert data["wallets"][0]["balance"] == "1250037.500123"
    assert data["wallets"][0]["token_accounts"] == 2
    assert data["stale"] is False and data["balance_checked_at"].endswith("Z")
    assert data["holder_tier"] == "holder"
    assert data["tier"]["next_tier"] == "whale"
    assert Profile.objects.get(user=owner_user).holder_tier == "holder"
    assert HolderTierChanged(user_id=owner_user.pk, old_tier="none", new_tier="holder") in wallet_events
    assert any(t == f"user:{owner_user.pk}" and e == "holder_tier.changed" for t, e, _ in broadcasts)

    balance = client.get("/api/wallet/balance").json()["data"]
    assert balance["total"] == "1250037.500123"
    listing = client.get("/api/wallet").json()["data"]
    assert listing[0]["balance"] == "1250037.500123" and listing[0]["holder_tier"] == "holder"


def test_refresh_is_rate_limited(make_client, owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_empty"))
    rpc.on("getSignaturesForAddress", {"jsonrpc": "2.0", "result": [], "id": 1})
    client = make_client(owner_user)
    assert client.post("/api/wallet/refresh").status_code == 200
    again = client.post("/api/wallet/refresh")
    assert again.status_code == 429 and again.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(again["Retry-After"]) <= 60


def test_refresh_cooldown_holds_when_the_clock_minute_turns_between_two_requests(
    make_client, owner_user, rpc, monkeypatch
):
    """The cooldown runs from the first refresh: with windows on the clock, a refresh at :59.9
    and another at :00.0 were both let through (CI saw it happen)."""
    from apps.core import limits

    class Clock:
        now = 1_800_000_000 - 0.1  # a tenth of a second before a whole minute

        def time(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(limits, "time", clock)
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_empty"))
    rpc.on("getSignaturesForAddress", {"jsonrpc": "2.0", "result": [], "id": 1})
    client = make_client(owner_user)
    assert client.post("/api/wallet/refresh").status_code == 200
    clock.now += 0.2
    again = client.post("/api/wallet/refresh")
    assert again.status_code == 429 and again.json()["error"]["code"] == "rate_limited"
    assert 55 <= int(again["Retry-After"]) <= 60  # what is left of the cooldown, not of a minute


def test_rpc_failure_keeps_the_last_good_value_marked_stale(make_client, owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    services.user_balances_refresh(user_id=owner_user.pk)
    rpc.on("getTokenAccountsByOwner", fixture("solana_error_rate_limited"))
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    data = make_client(owner_user).get("/api/wallet/balance").json()["data"]
    assert data["total"] == "1250037.500123"
    assert data["stale"] is True and data["wallets"][0]["stale"] is True
    assert data["holder_tier"] == "holder"  # an outage never costs anyone their tier
    assert TokenBalance.objects.get().last_error


def test_malformed_answer_keeps_the_last_value(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    services.user_balances_refresh(user_id=owner_user.pk)
    rpc.on("getTokenAccountsByOwner", {"jsonrpc": "2.0", "result": {"value": "nonsense"}, "id": 1})
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    balance = TokenBalance.objects.get()
    assert balance.amount == 1_250_037_500_123 and balance.stale


def test_an_older_slot_does_not_overwrite_a_newer_answer(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(5)], slot=200))
    services.user_balances_refresh(user_id=owner_user.pk)
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(1)], slot=100))
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert TokenBalance.objects.get().amount == whole(5)


def test_history_is_kept_on_change_only(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(10)]))
    services.user_balances_refresh(user_id=owner_user.pk)
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert BalanceHistory.objects.count() == 1
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(12)]))
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert list(BalanceHistory.objects.order_by("id").values_list("amount", flat=True)) == [whole(10), whole(12)]


def test_balance_is_cached_between_close_checks(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(10)]))
    services.user_balances_refresh(user_id=owner_user.pk)
    services.user_balances_refresh(user_id=owner_user.pk)
    balance_reads = [c for c in rpc.calls_to("getTokenAccountsByOwner") if "mint" in c[2][1]]
    assert len(balance_reads) == 1  # (the history's per-program reads are another question)


def test_total_over_several_verified_wallets_decides_the_tier(owner_user, rpc):
    second = WalletConnection.objects.create(
        user=owner_user, address="So11111111111111111111111111111111111111112", verified=True
    )
    rpc.on("getTokenAccountsByOwner", lambda params: holding_answer(params[0], [whole(600_000)]))
    status = services.user_balances_refresh(user_id=owner_user.pk)
    assert status.total_amount == whole(1_200_000) and status.tier == "holder"
    # Unverified wallets do not count; unlinking one drops the tier at once (no grace to lend a wallet).
    WalletConnection.objects.filter(pk=second.pk).update(verified=False)
    assert services.holder_tier_recompute(user_id=owner_user.pk, immediate=True).tier == "none"


def test_seller_loses_the_tier_only_after_the_grace_period(
    owner_user, rpc, django_capture_on_commit_callbacks, wallet_events
):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(1_500_000)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.user_balances_refresh(user_id=owner_user.pk)
    assert Profile.objects.get(user=owner_user).holder_tier == "holder"

    # Sold below the threshold: still a holder during the grace period, the downgrade is pending.
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(10)]))
    with django_capture_on_commit_callbacks(execute=True):
        status = services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert status.tier == "holder" and status.pending_tier == "none" and status.below_since is not None
    assert Profile.objects.get(user=owner_user).holder_tier == "holder"
    # Checked more often while in grace.
    due = WalletConnection.objects.get(user=owner_user).next_refresh_at
    assert due <= timezone.now() + timedelta(seconds=3600 * 1.2)

    # After the grace period the next check downgrades, with an event.
    later = timezone.now() + timedelta(seconds=3601)
    with django_capture_on_commit_callbacks(execute=True):
        status = services.holder_tier_recompute(user_id=owner_user.pk, now=later)
    assert status.tier == "none"
    assert Profile.objects.get(user=owner_user).holder_tier == "none"
    assert [e for e in wallet_events if isinstance(e, HolderTierChanged)] == [
        HolderTierChanged(user_id=owner_user.pk, old_tier="none", new_tier="holder"),
        HolderTierChanged(user_id=owner_user.pk, old_tier="holder", new_tier="none"),
    ]


def test_brief_transfer_within_grace_does_not_flap(owner_user, rpc, django_capture_on_commit_callbacks, wallet_events):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(1_500_000)]))
    with django_capture_on_commit_callbacks(execute=True):
        services.user_balances_refresh(user_id=owner_user.pk)
        rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(10)]))
        services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
        rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(1_500_000)]))
        status = services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert status.tier == "holder" and status.below_since is None and status.pending_tier == ""
    assert len([e for e in wallet_events if isinstance(e, HolderTierChanged)]) == 1


def test_buyer_gains_the_tier_at_the_next_refresh(
    owner_user, rpc, django_capture_on_commit_callbacks, wallet_events, broadcasts
):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_empty"))
    services.user_balances_refresh(user_id=owner_user.pk)
    assert HolderStatus.objects.get(user=owner_user).tier == "none"
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(150_000_000)]))
    WalletConnection.objects.update(next_refresh_at=timezone.now() - timedelta(seconds=1))
    cache.clear()  # the short-lived balance cache has expired by the next beat tick
    with django_capture_on_commit_callbacks(execute=True):
        result = refresh_due_batch()
    assert result["refreshed"] == 1
    assert Profile.objects.get(user=owner_user).holder_tier == "whale"
    assert HolderTierChanged(user_id=owner_user.pk, old_tier="none", new_tier="whale") in wallet_events
    assert (f"user:{owner_user.pk}", "holder_tier.changed") in [(t, e) for t, e, _ in broadcasts]


def test_beat_batch_takes_only_due_wallets_and_spreads_the_next_checks(rpc):
    rpc.on("getTokenAccountsByOwner", lambda params: holding_answer(params[0], [whole(5)]))
    users = [UserFactory() for _ in range(4)]
    now = timezone.now()
    from tests.wallet.conftest import Wallet

    for i, user in enumerate(users):
        WalletConnection.objects.create(
            user=user,
            address=Wallet().address,
            verified=True,
            next_refresh_at=now - timedelta(minutes=1) if i < 3 else now + timedelta(hours=1),
        )
    result = refresh_due_batch(limit=2)
    assert result == {"refreshed": 2, "claimed": 2, "grace_settled": 0, "challenges_purged": 0}
    result = refresh_due_batch(limit=10)
    assert result["refreshed"] == 1  # the fourth is not due
    nexts = list(WalletConnection.objects.filter(user__in=users[:3]).values_list("next_refresh_at", flat=True))
    assert all(n > now + timedelta(hours=4) for n in nexts)  # ordinary wallets: about every 6 h
    assert len(set(nexts)) == 3  # jittered, not all at once


def test_beat_batch_stops_when_every_endpoint_rate_limits(rpc):
    import httpx

    from tests.wallet.conftest import Wallet

    rpc.on("getTokenAccountsByOwner", httpx.Response(429, headers={"Retry-After": "30"}))
    for _ in range(3):
        WalletConnection.objects.create(user=UserFactory(), address=Wallet().address, verified=True)
    result = refresh_due_batch(limit=10)
    assert result["refreshed"] == 1 and result["claimed"] == 3
    assert len(rpc.calls) == 2  # one try per endpoint, then the batch stopped


def test_active_user_and_near_threshold_wallets_are_checked_more_often(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(950_000)]))  # 5% under "holder"
    services.user_balances_refresh(user_id=owner_user.pk)
    due = WalletConnection.objects.get(user=owner_user).next_refresh_at
    assert due <= timezone.now() + timedelta(seconds=1800 * 1.2)


def test_admin_exemption_keeps_a_tier(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_empty"))
    services.user_balances_refresh(user_id=owner_user.pk)
    assert services.holder_exemption_set(user_id=owner_user.pk, tier="whale", reason="treasury").tier == "whale"
    assert services.user_balances_refresh(user_id=owner_user.pk, use_cache=False).tier == "whale"
    assert services.holder_exemption_set(user_id=owner_user.pk, tier="").tier == "none"


def test_wallet_refresh_command(owner_user, rpc):
    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"), url=RPC_2)
    rpc.down("http://rpc-1.test")
    call_command("wallet_refresh", "--all")
    assert Profile.objects.get(user=owner_user).holder_tier == "holder"
    call_command("wallet_refresh")  # the due batch: nothing due now


def test_balance_of_a_user_without_wallets(auth_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = auth_client.get("/api/wallet/balance")
    data = response.json()["data"]
    assert data["total"] == "0.000000" and data["wallets"] == [] and data["holder_tier"] == "none"


def test_refresh_endpoint_degrades_when_the_rpc_is_down(
    make_client, owner_user, rpc, django_capture_on_commit_callbacks
):
    rpc.down("http://rpc-1.test")
    rpc.down(RPC_2)
    with django_capture_on_commit_callbacks(execute=True):
        response = make_client(owner_user).post("/api/wallet/refresh")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["stale"] is True and data["wallets"][0]["balance"] is None
    balance_reads = [c for c in rpc.calls_to("getTokenAccountsByOwner") if "mint" in c[2][1]]
    assert len(balance_reads) == 2  # one pass: a waiting user is not held for retries


def test_an_outage_is_paid_once_per_account_not_once_per_wallet(owner_user, rpc):
    from tests.wallet.conftest import Wallet

    for _ in range(3):
        WalletConnection.objects.create(user=owner_user, address=Wallet().address, verified=True)
    rpc.down("http://rpc-1.test")
    rpc.down(RPC_2)
    services.user_balances_refresh(user_id=owner_user.pk)
    assert len(rpc.calls_to("getTokenAccountsByOwner")) == 2 * 3  # the first wallet: 2 endpoints x 3 rounds
    assert TokenBalance.objects.filter(wallet__user=owner_user, stale=True).count() == 4


def test_beat_purges_old_challenges(rpc, api_client):
    from apps.wallet.models import SiwsChallenge
    from tests.wallet.conftest import Wallet, challenge

    challenge(api_client, Wallet().address)
    challenge(api_client, Wallet().address)
    SiwsChallenge.objects.filter(pk=SiwsChallenge.objects.first().pk).update(
        expires_at=timezone.now() - timedelta(days=2)
    )
    assert refresh_due_batch()["challenges_purged"] == 1
    assert SiwsChallenge.objects.count() == 1


def test_wallet_refresh_command_for_one_account(owner_user, rpc):
    import io

    rpc.on("getTokenAccountsByOwner", fixture("solana_getTokenAccountsByOwner_jsonParsed"))
    out = io.StringIO()
    call_command("wallet_refresh", "--user", str(owner_user.pk), stdout=out)
    assert "tier holder" in out.getvalue()


def test_beat_settles_an_ended_grace_period(owner_user, rpc, django_capture_on_commit_callbacks, wallet_events):
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(2_000_000)]))
    services.user_balances_refresh(user_id=owner_user.pk)
    rpc.on("getTokenAccountsByOwner", holding_answer(OWNER, [whole(1)]))
    services.user_balances_refresh(user_id=owner_user.pk, use_cache=False)
    assert HolderStatus.objects.get(user=owner_user).tier == "holder"
    HolderStatus.objects.filter(user=owner_user).update(below_since=timezone.now() - timedelta(seconds=3601))
    WalletConnection.objects.update(next_refresh_at=timezone.now() + timedelta(hours=1))  # not due: no RPC
    with django_capture_on_commit_callbacks(execute=True):
        result = refresh_due_batch()
    assert result["grace_settled"] == 1 and result["refreshed"] == 0
    assert Profile.objects.get(user=owner_user).holder_tier == "none"
    assert HolderTierChanged(user_id=owner_user.pk, old_tier="holder", new_tier="none") in wallet_events
