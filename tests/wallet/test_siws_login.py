"""Sign In With Solana through the API, with real ed25519 signatures from a generated keypair."""

import base64
import struct
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.wallet.models import SiwsChallenge, WalletConnection
from tests.wallet.conftest import Wallet, b58, challenge, login

pytestmark = pytest.mark.django_db


def test_challenge_is_a_siws_message_with_a_stored_single_use_nonce(api_client, wallet):
    data = challenge(api_client, wallet.address)
    lines = data["message"].split("\n")
    assert lines[0] == "successkid.test wants you to sign in with your Solana account:"
    assert lines[1] == wallet.address
    assert "URI: https://successkid.test" in lines
    assert "Version: 1" in lines
    assert "Chain ID: mainnet" in lines
    assert f"Nonce: {data['nonce']}" in lines
    assert any(line.startswith("Issued At: ") for line in lines)
    assert any(line.startswith("Expiration Time: ") for line in lines)
    assert len(data["nonce"]) >= 16 and data["nonce"].isalnum()
    assert data["expires_at"].endswith("Z")
    stored = SiwsChallenge.objects.get(nonce=data["nonce"])
    assert stored.address == wallet.address and stored.consumed_at is None


def test_first_login_creates_the_account_and_later_logins_find_it(api_client, wallet, make_client):
    first = login(api_client, wallet)
    assert first.status_code == 200, first.content
    body = first.json()["data"]
    assert set(body) >= {"access", "refresh", "user"}
    assert body["created"] is True
    user = User.objects.get(pk=body["user"]["id"])
    assert user.username.startswith("sol_") and user.email == "" and not user.has_usable_password()
    assert body["user"]["holder_tier"] == "none"
    assert WalletConnection.objects.get(address=wallet.address).user == user

    second = login(api_client, wallet)
    assert second.status_code == 200
    assert second.json()["data"]["user"]["id"] == user.id
    assert second.json()["data"]["created"] is False
    assert User.objects.count() == 1

    # The access token works on an authenticated endpoint.
    me = api_client.get("/api/wallet", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == 200
    assert me.json()["data"][0]["address"] == wallet.address
    assert me.json()["data"][0]["is_primary"] is True


def test_usernames_do_not_collide_without_regard_to_case(api_client):
    a = Wallet()
    User.objects.create(username=f"SOL_{a.address[:6].swapcase()}")
    response = login(api_client, a)
    assert response.status_code == 200
    assert response.json()["data"]["user"]["username"].lower() != f"sol_{a.address[:6]}".lower()


def test_base64_signature_is_accepted(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    sig = base64.b64encode(wallet.sign_raw(msg.encode())).decode()
    assert login(api_client, wallet, message=msg, signature=sig).status_code == 200


@pytest.mark.parametrize("layout", ["legacy", "spec_v0"])
def test_hardware_wallet_offchain_envelope_is_accepted(api_client, wallet, layout):
    msg = challenge(api_client, wallet.address)["message"]
    raw = msg.encode()
    length = struct.pack("<H", len(raw))
    if layout == "legacy":
        envelope = b"\xffsolana offchain" + bytes([0, 0]) + length + raw
    else:  # version 0, zero application domain, format 0, one signer
        envelope = (
            b"\xffsolana offchain"
            + bytes([0])
            + bytes(32)
            + bytes([0, 1])
            + bytes(wallet.keypair.pubkey())
            + length
            + raw
        )
    sig = b58(wallet.sign_raw(envelope))
    assert login(api_client, wallet, message=msg, signature=sig).status_code == 200


def test_envelope_of_another_message_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    other = b"something else entirely"
    envelope = b"\xffsolana offchain" + bytes([0, 0]) + struct.pack("<H", len(other)) + other
    response = login(api_client, wallet, message=msg, signature=b58(wallet.sign_raw(envelope)))
    assert response.status_code == 400 and response.json()["error"]["code"] == "siws_signature_invalid"


def test_crlf_layout_signed_by_the_wallet_is_accepted(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"].replace("\n", "\r\n") + "\r\n"
    assert login(api_client, wallet, message=msg).status_code == 200


def _code(response) -> str:
    return response.json()["error"]["code"]


def test_reused_nonce_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    assert login(api_client, wallet, message=msg).status_code == 200
    again = login(api_client, wallet, message=msg)
    assert again.status_code == 400 and _code(again) == "siws_nonce_used"


def test_expired_nonce_is_refused(api_client, wallet):
    data = challenge(api_client, wallet.address)
    SiwsChallenge.objects.filter(nonce=data["nonce"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = login(api_client, wallet, message=data["message"])
    assert response.status_code == 400 and _code(response) == "siws_expired"
    assert not WalletConnection.objects.exists()


def test_signature_for_another_message_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    other = challenge(api_client, wallet.address)["message"]
    response = login(api_client, wallet, message=msg, signature=wallet.sign(other))
    assert response.status_code == 400 and _code(response) == "siws_signature_invalid"
    # A refusal consumes nothing: the honest signature still works.
    assert login(api_client, wallet, message=msg).status_code == 200


def test_signature_by_another_key_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    response = login(api_client, wallet, message=msg, signature=Wallet().sign(msg))
    assert response.status_code == 400 and _code(response) == "siws_signature_invalid"


def test_message_for_another_address_is_refused(api_client, wallet):
    other = Wallet()
    msg = challenge(api_client, other.address)["message"]
    response = api_client.post(
        "/api/auth/wallet", {"address": wallet.address, "message": msg, "signature": wallet.sign(msg)}, format="json"
    )
    assert response.status_code == 400 and _code(response) == "siws_address_mismatch"


def test_message_for_another_domain_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"].replace("successkid.test wants", "evil.test wants")
    response = login(api_client, wallet, message=msg)
    assert response.status_code == 400 and _code(response) == "siws_domain_mismatch"


def test_message_for_another_uri_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"].replace(
        "URI: https://successkid.test", "URI: https://evil.test"
    )
    response = login(api_client, wallet, message=msg)
    assert response.status_code == 400 and _code(response) == "siws_uri_mismatch"


def test_message_for_another_chain_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"].replace("Chain ID: mainnet", "Chain ID: devnet")
    response = login(api_client, wallet, message=msg)
    assert response.status_code == 400 and _code(response) == "siws_chain_mismatch"


def test_edited_issued_at_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    lines = msg.split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("Issued At: "))
    issued = timezone.now() - timedelta(minutes=1)
    lines[i] = "Issued At: " + issued.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    response = login(api_client, wallet, message="\n".join(lines))
    assert response.status_code == 400 and _code(response) == "siws_field_mismatch"


def test_issued_at_far_from_now_is_refused(api_client, wallet):
    data = challenge(api_client, wallet.address)
    past = timezone.now() - timedelta(hours=1)
    SiwsChallenge.objects.filter(nonce=data["nonce"]).update(issued_at=past)
    lines = data["message"].split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("Issued At: "))
    lines[i] = "Issued At: " + past.strftime("%Y-%m-%dT%H:%M:%S.") + f"{past.microsecond // 1000:03d}Z"
    response = login(api_client, wallet, message="\n".join(lines))
    assert response.status_code == 400 and _code(response) == "siws_issued_at_invalid"


def test_nonce_we_never_issued_is_refused(api_client, wallet):
    msg = challenge(api_client, wallet.address)["message"]
    nonce = msg.split("Nonce: ")[1].split("\n")[0]
    forged = msg.replace(nonce, "A" * 24)
    response = login(api_client, wallet, message=forged)
    assert response.status_code == 400 and _code(response) == "siws_nonce_unknown"


def test_message_that_is_not_siws_is_refused(api_client, wallet):
    response = login(api_client, wallet, message="please sign this to win a prize")
    assert response.status_code == 400 and _code(response) == "siws_malformed_message"
    lines = challenge(api_client, wallet.address)["message"].split("\n")
    without_nonce = "\n".join(line for line in lines if not line.startswith("Nonce: "))
    response = login(api_client, wallet, message=without_nonce)
    assert response.status_code == 400 and _code(response) == "siws_malformed_message"


@pytest.mark.parametrize("address", ["not-base58-0OIl", "1" * 10, "", "GkYtZHzX4k8WogvRgvyZ8qrhq8Q2Qh2BELTXoWT7iyKVV"])
def test_malformed_address_is_refused(api_client, address):
    response = api_client.post("/api/auth/wallet/challenge", {"address": address}, format="json")
    assert response.status_code == 400
    assert _code(response) in ("invalid_address", "validation_error")
    if address:
        assert _code(response) == "invalid_address"


@pytest.mark.parametrize("signature", ["0OIl", "abc", b58(b"\x01" * 63), "!!notasignature!!"])
def test_malformed_signature_is_refused(api_client, wallet, signature):
    msg = challenge(api_client, wallet.address)["message"]
    response = login(api_client, wallet, message=msg, signature=signature)
    assert response.status_code == 400 and _code(response) == "siws_signature_malformed"


def test_login_challenge_cannot_link_and_link_challenge_cannot_log_in(api_client, wallet, auth_client):
    msg = challenge(auth_client, wallet.address, link=True)["message"]
    response = login(api_client, wallet, message=msg)
    assert response.status_code == 400 and _code(response) == "siws_nonce_unknown"


def test_missing_fields_are_a_validation_error(api_client):
    response = api_client.post("/api/auth/wallet", {"address": "x"}, format="json")
    assert response.status_code == 400 and _code(response) == "validation_error"
    assert set(response.json()["error"]["details"]) == {"message", "signature"}


def test_inactive_account_cannot_sign_in(api_client, wallet):
    assert login(api_client, wallet).status_code == 200
    User.objects.update(is_active=False)
    response = login(api_client, wallet)
    assert response.status_code == 403 and _code(response) == "account_suspended"


def test_banned_account_cannot_sign_in_with_its_wallet(api_client, wallet):
    from apps.accounts.services import user_suspend

    assert login(api_client, wallet).status_code == 200
    user_suspend(user=User.objects.get(), by=None, until=None, reason="scam")
    response = login(api_client, wallet)
    assert response.status_code == 403 and _code(response) == "account_suspended"
    assert response.json()["error"]["details"]["banned"] is True


@pytest.mark.django_db(transaction=True)
def test_one_nonce_used_twice_at_once_signs_in_once(wallet):
    """Two requests race with the same signed message: the row lock lets exactly one through."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    msg = challenge(APIClient(), wallet.address)["message"]
    body = {"address": wallet.address, "message": msg, "signature": wallet.sign(msg)}
    results: list[int] = []
    barrier = threading.Barrier(2)

    def attempt():
        try:
            barrier.wait()
            results.append(APIClient().post("/api/auth/wallet", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400]
    assert User.objects.count() == 1 and WalletConnection.objects.count() == 1


def test_challenges_are_throttled(api_client, wallet, settings):
    settings.SIWS_CHALLENGE_RATE = "2/min"
    for _ in range(2):
        assert (
            api_client.post("/api/auth/wallet/challenge", {"address": wallet.address}, format="json").status_code == 201
        )
    response = api_client.post("/api/auth/wallet/challenge", {"address": wallet.address}, format="json")
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response


def test_every_wallet_endpoint_is_in_the_schema(api_client):
    response = api_client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import json

    paths = json.loads(response.content)["paths"]
    for path, method in [
        ("/api/auth/wallet/challenge", "post"),
        ("/api/auth/wallet", "post"),
        ("/api/wallet", "get"),
        ("/api/wallet/connect", "post"),
        ("/api/wallet/verify", "post"),
        ("/api/wallet/{address}", "delete"),
        ("/api/wallet/balance", "get"),
        ("/api/wallet/refresh", "post"),
        ("/api/wallet/transactions", "get"),
        ("/api/wallet/transactions/summary", "get"),
    ]:
        assert method in paths[path], path
    login_schema = paths["/api/auth/wallet"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "data" in login_schema["properties"]
