"""Linking, listing, unlinking wallets; identity registry; refusing key material."""

import base58
import pytest
from solders.keypair import Keypair

from apps.accounts import identity
from apps.accounts.models import User
from apps.wallet.events import WalletUnlinked, WalletVerified
from apps.wallet.models import WalletConnection
from tests.factories import UserFactory
from tests.wallet.conftest import Wallet, challenge, link, login

pytestmark = pytest.mark.django_db


def _code(response) -> str:
    return response.json()["error"]["code"]


def test_link_a_wallet_and_list_it(
    auth_client, user, wallet, django_capture_on_commit_callbacks, wallet_events, broadcasts, rpc
):
    with django_capture_on_commit_callbacks(execute=True):
        response = link(auth_client, wallet)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["address"] == wallet.address and data["verified"] is True and data["is_primary"] is True
    assert set(data) >= {"address", "verified", "is_primary", "balance", "holder_tier", "balance_checked_at"}
    assert WalletVerified(user_id=user.pk, address=wallet.address) in wallet_events
    assert (f"user:{user.pk}", "wallet.verified", {"address": wallet.address, "is_primary": True}) in broadcasts
    # The first balance check ran right after commit (here: the RPC is unreachable, so it is stale).
    assert rpc.calls_to("getTokenAccountsByOwner")

    second = Wallet()
    assert link(auth_client, second).status_code == 201
    listing = auth_client.get("/api/wallet")
    assert listing.status_code == 200
    rows = listing.json()["data"]
    assert [r["address"] for r in rows] == [wallet.address, second.address]
    assert [r["is_primary"] for r in rows] == [True, False]
    assert listing.json()["meta"]["pagination"]["next_cursor"] is None


def test_linking_again_is_idempotent(auth_client, wallet):
    assert link(auth_client, wallet).status_code == 201
    again = link(auth_client, wallet)
    assert again.status_code == 200
    assert WalletConnection.objects.filter(address=wallet.address).count() == 1


def test_a_wallet_belongs_to_one_account(auth_client, make_client, wallet):
    assert link(auth_client, wallet).status_code == 201
    other = make_client(UserFactory())
    response = link(other, wallet)
    assert response.status_code == 409 and _code(response) == "wallet_already_linked"


def test_a_wallet_used_to_sign_in_cannot_be_linked_elsewhere(api_client, auth_client, wallet):
    assert login(api_client, wallet).status_code == 200
    response = link(auth_client, wallet)
    assert response.status_code == 409 and _code(response) == "wallet_already_linked"


def test_link_challenge_is_bound_to_the_user_who_asked(auth_client, make_client, wallet):
    msg = challenge(auth_client, wallet.address, link=True)["message"]
    other = make_client(UserFactory())
    response = other.post(
        "/api/wallet/verify", {"address": wallet.address, "message": msg, "signature": wallet.sign(msg)}, format="json"
    )
    assert response.status_code == 400 and _code(response) == "siws_nonce_unknown"


def test_link_needs_authentication(api_client, wallet):
    response = api_client.post("/api/wallet/connect", {"address": wallet.address}, format="json")
    assert response.status_code == 401 and _code(response) == "not_authenticated"


def test_wallet_limit(auth_client, settings):
    settings.WALLET_MAX_PER_USER = 2
    assert link(auth_client, Wallet()).status_code == 201
    assert link(auth_client, Wallet()).status_code == 201
    response = link(auth_client, Wallet())
    assert response.status_code == 409 and _code(response) == "wallet_limit"


def test_identity_registry_reports_verified_wallets(user, auth_client, wallet):
    link(auth_client, wallet)
    found = [i for i in identity.identities_of(user) if i.kind == "wallet"]
    assert len(found) == 1
    assert found[0].uid == wallet.address and found[0].verified
    assert found[0].label == f"{wallet.address[:4]}…{wallet.address[-4:]}"


def test_unlink(auth_client, user, wallet, password_identity, django_capture_on_commit_callbacks, wallet_events):
    second = Wallet()
    link(auth_client, wallet)
    link(auth_client, second)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(f"/api/wallet/{wallet.address}")
    assert response.status_code == 204
    assert WalletUnlinked(user_id=user.pk, address=wallet.address) in wallet_events
    remaining = WalletConnection.objects.get(user=user)
    assert remaining.address == second.address and remaining.is_primary  # primary passed on
    # Trailing slash works too; the password is still a way in.
    assert auth_client.delete(f"/api/wallet/{second.address}/").status_code == 204
    assert not WalletConnection.objects.filter(user=user).exists()


def test_unlinking_the_last_way_in_is_refused(api_client, make_client, wallet, password_identity):
    body = login(api_client, wallet).json()["data"]
    client = make_client(User.objects.get(pk=body["user"]["id"]))
    response = client.delete(f"/api/wallet/{wallet.address}")
    assert response.status_code == 409 and _code(response) == "last_way_in"
    # With a second wallet the first may go.
    link(client, Wallet())
    assert client.delete(f"/api/wallet/{wallet.address}").status_code == 204


def test_unlink_someone_elses_wallet_is_not_found(auth_client, make_client, wallet, password_identity):
    owner = make_client(UserFactory())
    link(owner, wallet)
    assert auth_client.delete(f"/api/wallet/{wallet.address}").status_code == 404
    assert WalletConnection.objects.filter(address=wallet.address).exists()


def test_set_primary(auth_client, wallet):
    second = Wallet()
    link(auth_client, wallet)
    link(auth_client, second)
    response = auth_client.patch(f"/api/wallet/{second.address}", {"is_primary": True}, format="json")
    assert response.status_code == 200 and response.json()["data"]["is_primary"] is True
    assert WalletConnection.objects.get(is_primary=True).address == second.address


def test_wallet_list_query_count(auth_client, user, django_assert_max_num_queries):
    for _ in range(5):
        link(auth_client, Wallet())
    with django_assert_max_num_queries(6):
        response = auth_client.get("/api/wallet")
    assert len(response.json()["data"]) == 5


# --- key material is never accepted ----------------------------------------------------------------


def _secret_bodies(wallet):
    keypair = Keypair()
    raw = bytes(keypair)
    return [
        {"address": wallet.address, "private_key": "whatever"},
        {"address": wallet.address, "secretKey": list(raw)},
        {"address": wallet.address, "seed": "x"},
        {
            "address": wallet.address,
            "note": "abandon ability able about above absent absorb abstract absurd abuse access accident",
        },
        {"address": wallet.address, "key": list(raw)},
        {"address": wallet.address, "message": "hi", "signature": base58.b58encode(raw).decode()},
        {"address": wallet.address, "signature": raw.hex()},
    ]


@pytest.mark.parametrize(
    "path", ["/api/auth/wallet/challenge", "/api/auth/wallet", "/api/wallet/connect", "/api/wallet/verify"]
)
def test_private_keys_and_seed_phrases_are_refused(auth_client, wallet, path):
    for body in _secret_bodies(wallet):
        response = auth_client.post(path, body, format="json")
        assert response.status_code == 400, body
        assert _code(response) == "secret_material_refused"
        assert "whatever" not in response.content.decode()  # the value is never echoed
    assert not WalletConnection.objects.exists()


def test_profile_shows_wallets_and_holder_tier_only_when_the_user_allows_it(auth_client, api_client, user, wallet):
    from apps.accounts.models import Profile

    link(auth_client, wallet)
    Profile.objects.filter(user=user).update(holder_tier="holder")
    shown = api_client.get(f"/api/users/{user.pk}").json()["data"]
    assert shown["wallets"] == [] and shown["holder_tier"] == "none"
    assert auth_client.get("/api/users/me").json()["data"]["holder_tier"] == "holder"  # their own, always
    Profile.objects.filter(user=user).update(show_wallets=True, show_holdings=True)
    shown = api_client.get(f"/api/users/{user.pk}").json()["data"]
    assert shown["wallets"] == [f"{wallet.address[:4]}…{wallet.address[-4:]}"] and shown["holder_tier"] == "holder"


def test_a_linked_wallet_signs_in_to_the_account_it_is_linked_to(api_client, auth_client, user, wallet):
    assert link(auth_client, wallet).status_code == 201
    response = login(api_client, wallet)
    assert response.status_code == 200
    assert response.json()["data"]["user"]["id"] == user.pk and response.json()["data"]["created"] is False


def test_primary_cannot_be_switched_off_directly(auth_client, wallet):
    link(auth_client, wallet)
    response = auth_client.patch(f"/api/wallet/{wallet.address}", {"is_primary": False}, format="json")
    assert response.status_code == 400 and _code(response) == "validation_error"
    assert auth_client.patch(f"/api/wallet/{Wallet().address}", {"is_primary": True}, format="json").status_code == 404
