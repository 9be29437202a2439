"""OAuth through allauth's headless flows, ending in our JWT pair, with the providers' HTTP
answers replayed: Google token flow (native app), GitHub redirect flow (SPA), linking, unlinking
and the last-way-in rule."""

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.accounts import replay
from tests.accounts.helpers import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v1/certs"
KID = "1e9gdk7"


@pytest.fixture(scope="module")
def google_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "federated-signon.system.gserviceaccount.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem_key, cert.public_bytes(serialization.Encoding.PEM).decode()


def google_id_token(pem_key, **claims) -> str:
    now = int(time.time())
    body = {
        "iss": "https://accounts.google.com",
        "azp": "google-client-id",
        "aud": "google-client-id",
        "sub": "110169484474386276334",
        "email": "gina@gmail.com",
        "email_verified": True,
        "name": "Gina Google",
        "picture": "https://lh3.googleusercontent.com/a/ACg8ocK",
        "given_name": "Gina",
        "family_name": "Google",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    return jwt.encode(body, pem_key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture
def google(monkeypatch, google_key):
    pem_key, cert = google_key
    adapter = replay.install(monkeypatch, {("GET", GOOGLE_CERTS): (200, {KID: cert})})
    return pem_key, adapter


def token_flow(client, id_token, process="login", **headers):
    return client.post(
        "/_allauth/app/v1/auth/provider/token",
        {"provider": "google", "process": process, "token": {"client_id": "google-client-id", "id_token": id_token}},
        format="json",
        **headers,
    )


def test_google_token_flow_signs_up_and_answers_our_jwt_pair(google):
    pem_key, adapter = google
    r = token_flow(APIClient(), google_id_token(pem_key))
    assert r.status_code == 200, r.content
    meta = r.json()["meta"]
    assert {"access_token", "refresh_token"} <= set(meta)
    me = bearer(meta["access_token"]).get("/api/users/me")
    assert me.status_code == 200
    data = me.json()["data"]
    assert data["email"] == "gina@gmail.com" and data["email_verified"] is True
    assert data["display_name"] == "Gina Google" and data["has_password"] is False
    user = User.objects.get(pk=data["id"])
    assert user.username and user.auth_sessions.get().method == "google"
    # Our refresh token rotates like any other.
    assert APIClient().post("/api/auth/refresh", {"refresh": meta["refresh_token"]}, format="json").status_code == 200
    # The certificates really were fetched through the client code.
    assert any(c.url == GOOGLE_CERTS for c in adapter.calls)
    # Signing in again reaches the same account.
    again = token_flow(APIClient(), google_id_token(pem_key))
    assert bearer(again.json()["meta"]["access_token"]).get("/api/users/me").json()["data"]["id"] == user.pk


def test_google_token_with_wrong_audience_or_forged_signature_is_refused(google):
    pem_key, _ = google
    assert token_flow(APIClient(), google_id_token(pem_key, aud="someone-else")).status_code == 400
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert token_flow(APIClient(), google_id_token(other)).status_code == 400
    assert not User.objects.exists()


def test_unverified_provider_email_is_not_trusted_and_taken_email_not_joined(google):
    pem_key, _ = google
    existing = UserFactory(email="gina@gmail.com")
    r = token_flow(APIClient(), google_id_token(pem_key))
    assert r.status_code == 200, r.content
    data = bearer(r.json()["meta"]["access_token"]).get("/api/users/me").json()["data"]
    # A new account (never joined to `existing` on an email claim), without the taken address.
    assert data["id"] != existing.pk and data["email"] == "" and data["email_verified"] is False
    r2 = token_flow(APIClient(), google_id_token(pem_key, sub="999", email="new@gmail.com", email_verified=False))
    data2 = bearer(r2.json()["meta"]["access_token"]).get("/api/users/me").json()["data"]
    assert data2["email"] == "new@gmail.com" and data2["email_verified"] is False


def test_link_google_to_existing_account_then_unlink(google, make_client):
    pem_key, _ = google
    user = UserFactory(username="linker")
    client = make_client(user)
    r = client.post("/api/auth/oauth/link-token")
    assert r.status_code == 201
    session_token = r.json()["data"]["session_token"]
    linked = token_flow(APIClient(), google_id_token(pem_key), process="connect", HTTP_X_SESSION_TOKEN=session_token)
    assert linked.status_code == 200, linked.content
    assert SocialAccount.objects.get(user=user).provider == "google"
    kinds = {i["kind"] for i in client.get("/api/auth/identities").json()["data"]}
    assert kinds == {"password", "google"}
    # The same Google account cannot be linked to a second user.
    other = UserFactory()
    tok2 = make_client(other).post("/api/auth/oauth/link-token").json()["data"]["session_token"]
    clash = token_flow(APIClient(), google_id_token(pem_key), process="connect", HTTP_X_SESSION_TOKEN=tok2)
    assert clash.status_code >= 400
    assert SocialAccount.objects.filter(user=other).count() == 0
    # Unlink works while another way in remains.
    assert client.delete("/api/auth/identities/google/110169484474386276334").status_code == 204
    assert not SocialAccount.objects.filter(user=user).exists()
    # The password is now the last way in: refused.
    r = client.delete(f"/api/auth/identities/password/{user.pk}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert User.objects.get(pk=user.pk).has_usable_password()


def test_unlinking_the_last_provider_is_refused(google):
    pem_key, _ = google
    meta = token_flow(APIClient(), google_id_token(pem_key)).json()["meta"]
    client = bearer(meta["access_token"])
    r = client.delete("/api/auth/identities/google/110169484474386276334")
    assert r.status_code == 409
    assert SocialAccount.objects.count() == 1
    assert client.delete("/api/auth/identities/github/1").status_code == 404


def test_github_redirect_flow_ends_in_jwt_pair(monkeypatch, client):
    adapter = replay.install(
        monkeypatch,
        {
            ("POST", "https://github.com/login/oauth/access_token"): (200, replay.fixture("github_access_token.json")),
            ("GET", "https://api.github.com/user"): (200, replay.fixture("github_user.json")),
            ("GET", "https://api.github.com/user/emails"): (200, replay.fixture("github_emails.json")),
        },
    )
    start = client.post(
        "/_allauth/browser/v1/auth/provider/redirect",
        {"provider": "github", "process": "login", "callback_url": "http://localhost:3000/oauth/done"},
    )
    assert start.status_code == 302, start.content
    to_provider = urlsplit(start["Location"])
    assert to_provider.netloc == "github.com", start["Location"]
    query = parse_qs(to_provider.query)
    state, redirect_uri = query["state"][0], query["redirect_uri"][0]
    back = client.get(urlsplit(redirect_uri).path, {"code": "c0ffee", "state": state})
    assert back.status_code == 302 and back["Location"].startswith("http://localhost:3000/oauth/done"), back
    assert adapter.calls[0].url == "https://github.com/login/oauth/access_token"
    done = client.post("/api/auth/oauth/session")
    assert done.status_code == 200, done.content
    data = done.json()["data"]
    assert data["user"]["email"] == "octocat@github.com" and data["user"]["email_verified"] is True
    assert data["user"]["username"] == "octo_cat_dev"  # rebuilt to our username rule
    assert data["user"]["display_name"] == "The Octocat"  # control character stripped
    assert bearer(data["access"]).get("/api/users/me").status_code == 200
    # The allauth session was ended and its cookie dropped: it cannot be exchanged twice.
    assert done.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 0
    assert client.post("/api/auth/oauth/session").status_code == 401


def test_github_callback_with_bad_state_creates_nothing(monkeypatch, client):
    replay.install(monkeypatch, {})
    r = client.get("/accounts/github/login/callback/", {"code": "x", "state": "forged"})
    assert r.status_code in (302, 400)
    assert not User.objects.exists()
    assert client.post("/api/auth/oauth/session").status_code == 401


def test_session_exchange_with_cookie_needs_csrf(monkeypatch):
    from django.test import Client

    user = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    r = browser.post("/api/auth/oauth/session")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("client_kind", ["app", "browser"])
@pytest.mark.parametrize("path", ["auth/login", "auth/signup", "auth/password/request", "auth/session"])
def test_allauth_password_endpoints_are_not_mounted(client, client_kind, path):
    UserFactory(username="pw")
    r = client.post(f"/_allauth/{client_kind}/v1/{path}", {"username": "pw", "password": "x"})
    assert r.status_code == 404
