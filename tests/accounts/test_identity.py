"""The ways-in registry: wallets from another app count as a way in and as verification."""

import pytest

from apps.accounts import identity
from apps.accounts.access import user_can
from apps.accounts.identity import Identity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet_source():
    wallets: dict[int, list[Identity]] = {}

    def source(user):
        return wallets.get(user.pk, [])

    identity.register_source(source)
    yield wallets
    identity._sources.remove(source)


def test_wallet_only_account_counts_as_verified(settings, wallet_source):
    settings.EMAIL_VERIFICATION = "mandatory"
    user = UserFactory(email="", email_verified=False)
    user.set_unusable_password()
    user.save()
    assert not user_can(user, "content.create")
    wallet_source[user.pk] = [
        Identity(kind="wallet", uid="7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU", label="7xKX…")
    ]
    assert user_can(user, "content.create")
    assert identity.ways_in(user) == 1


def test_unlink_refuses_last_way_in_even_with_only_a_wallet_left(make_client, wallet_source):
    user = UserFactory()
    client = make_client(user)
    wallet_source[user.pk] = [Identity(kind="wallet", uid="Addr1", label="Addr1")]
    rows = client.get("/api/auth/identities").json()["data"]
    assert {r["kind"] for r in rows} == {"password", "wallet"}
    # Wallets are unlinked through the wallet API.
    assert client.delete("/api/auth/identities/wallet/Addr1").status_code == 409
    # The password may go, since the wallet remains a way in.
    assert client.delete(f"/api/auth/identities/password/{user.pk}").status_code == 204
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_x_redirect_flow_starts_with_pkce(client):
    r = client.post(
        "/_allauth/browser/v1/auth/provider/redirect",
        {"provider": "twitter_oauth2", "process": "login", "callback_url": "http://localhost:3000/oauth/done"},
    )
    assert r.status_code == 302
    location = r["Location"]
    assert location.startswith("https://x.com/i/oauth2/authorize") or location.startswith(
        "https://twitter.com/i/oauth2/authorize"
    ), location
    assert "code_challenge=" in location and "state=" in location
