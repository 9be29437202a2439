"""GET /api/users/me/export: every area's data of the caller, none of anyone else's, no secrets."""

from __future__ import annotations

import json

import pytest

from apps.accounts.models import AuthSession
from apps.privacy.registry import registry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECTIONS = {
    "accounts", "forum", "moderation", "media", "wallet", "market", "gamification", "notifications", "search",
    "realtime", "requests",
}  # fmt: skip


def _export(client):
    r = client.get("/api/users/me/export")
    assert r.status_code == 200, r.content
    return r, r.json()["data"]


def test_every_area_is_registered():
    assert set(registry.sections()) == SECTIONS


def test_export_holds_the_callers_data_of_every_area(worlds, make_client):
    alice_world, _ = worlds
    alice = alice_world.user
    r, doc = _export(make_client(alice))
    assert r["Content-Disposition"].startswith("attachment; filename=") and ".json" in r["Content-Disposition"]
    assert r["Cache-Control"] == "no-store"
    assert doc["format"] == "successkid.account-export" and doc["version"] == 1
    assert doc["generated_at"].endswith("Z") and doc["user_id"] == alice.pk
    s = doc["sections"]
    assert set(s) == SECTIONS

    acc = s["accounts"]
    assert acc["account"]["username"] == "alice" and acc["account"]["email"] == "alice@example.com"
    assert acc["profile"]["bio"] == "ALICE bio" and acc["settings"] == {"theme": "ALICE-dark"}
    assert len(acc["sessions"]) == AuthSession.objects.filter(user=alice).count() >= 2
    assert {"id", "ip", "user_agent", "created_at"} <= set(acc["sessions"][0])
    assert acc["oauth_accounts"] == [
        {"provider": "google", "uid": "ALICE-google-uid", "date_joined": acc["oauth_accounts"][0]["date_joined"],
         "last_login": acc["oauth_accounts"][0]["last_login"]}
    ]  # fmt: skip
    assert acc["email_addresses"] == [{"email": "alice@example.com", "verified": True, "primary": True}]
    assert [ra["reason"] for ra in acc["role_assignments"]] == ["ALICE role reason"]
    assert {i["kind"] for i in acc["identities"]} >= {"password", "google", "wallet"}

    forum = s["forum"]
    assert sorted(p["title"] for p in forum["posts"]) == ["ALICE post title", "ALICE target post"]
    assert [c["body"] for c in forum["comments"]] == ["ALICE comment body"]
    assert [(v["post_id"], v["value"]) for v in forum["votes"]] == [(alice_world.others_post.pk, 1)]
    assert [d["title"] for d in forum["drafts"]] == ["ALICE draft"]
    assert [rev["body"] for rev in forum["revisions"]] == ["ALICE rev"]

    assert [rep["note"] for rep in s["moderation"]["reports"]] == ["ALICE report note"]
    assert len(s["media"]["assets"]) == 1 and s["media"]["assets"][0]["url"]
    wallet = s["wallet"]
    assert [w["address"] for w in wallet["wallets"]] == [alice_world.extra["wallet"].address]
    assert wallet["balances"][0]["amount"] == "1234" and wallet["transactions"][0]["signature"] == "ALICEsig"
    assert wallet["holder_status"]["tier"] == "holder"
    assert [a["note"] for a in s["market"]["price_alerts"]] == ["ALICE alert"]
    gam = s["gamification"]
    assert [t["activity"] for t in gam["point_history"]] == ["post_created"]
    assert len(gam["achievements"]) == 1 and gam["activity"] and gam["standings"]
    notes = s["notifications"]
    assert [n["title"] for n in notes["notifications"]] == ["ALICE notification"]
    assert notes["settings"]["email_frequency"] == "weekly" and len(notes["subscriptions"]) == 1
    assert [q["query"] for q in s["search"]["search_log"]] == ["alice search"]
    assert [p["room"] for p in s["realtime"]["presence"]] == ["lobby"]
    # Idempotency keys without their stored answers (copies of what the other sections hold).
    assert [(k["key"], k["path"], k["status_code"]) for k in s["requests"]["idempotency_keys"]] == [
        ("ALICE-key", "/api/posts", 201)
    ]
    assert "response" not in s["requests"]["idempotency_keys"][0]


def test_export_has_nothing_of_another_user_and_no_secret(worlds, make_client):
    alice_world, bob_world = worlds
    alice = alice_world.user
    _, doc = _export(make_client(alice))
    text = json.dumps(doc)
    # Bob's private data (every free text of his is tagged BOB) and his identity.
    for needle in ("BOB", "bob search", "bob@example.com", bob_world.extra["wallet"].address, "BOB-google-uid"):
        assert needle not in text, needle
    # Secrets: password hash, OAuth tokens, JWTs, refresh token ids.
    from tests.privacy.conftest import SECRET_OAUTH_REFRESH, SECRET_OAUTH_TOKEN

    alice.refresh_from_db()
    secrets = [alice.password, SECRET_OAUTH_TOKEN, SECRET_OAUTH_REFRESH, alice_world.tokens["access"]]
    secrets += [alice_world.tokens["refresh"]]
    secrets += list(AuthSession.objects.filter(user=alice).values_list("current_jti", flat=True))
    for secret in secrets:
        assert secret not in text
    assert "password" not in {k for section in doc["sections"].values() for k in section}


def test_a_user_with_no_data_gets_every_section_empty(make_client):
    fresh = UserFactory()
    _, doc = _export(make_client(fresh))
    assert set(doc["sections"]) == SECTIONS
    assert doc["sections"]["forum"] == {"posts": [], "comments": [], "votes": [], "drafts": [], "revisions": []}
    assert doc["sections"]["wallet"]["wallets"] == [] and doc["sections"]["wallet"]["holder_status"] is None
    assert doc["sections"]["market"] == {"price_alerts": []}
    assert doc["sections"]["search"] == {"search_log": []} and doc["sections"]["realtime"] == {"presence": []}
    assert doc["sections"]["requests"] == {"idempotency_keys": []}


def test_anonymous_gets_401(api_client):
    r = api_client.get("/api/users/me/export")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_export_is_throttled_per_user_with_retry_after(make_client, settings):
    settings.THROTTLE_PRIVACY_EXPORT = "2/hour"
    user, other = UserFactory(), UserFactory()
    client = make_client(user)
    assert client.get("/api/users/me/export").status_code == 200
    assert client.get("/api/users/me/export").status_code == 200
    r = client.get("/api/users/me/export")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= 3600
    assert make_client(other).get("/api/users/me/export").status_code == 200  # per user
    assert client.get("/api/users/me").status_code == 200  # only the export's own budget is spent


def test_one_export_at_a_time_per_user(make_client, settings):
    from django.core.cache import caches

    user, other = UserFactory(), UserFactory()
    slots = caches[settings.THROTTLE_CACHE]
    slots.set(f"conc:export:u{user.pk}", 1, 60)  # an export of this user's is still running
    r = make_client(user).get("/api/users/me/export")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and r["Retry-After"]
    assert make_client(other).get("/api/users/me/export").status_code == 200
    slots.delete(f"conc:export:u{user.pk}")
    assert make_client(user).get("/api/users/me/export").status_code == 200


def test_export_and_delete_are_in_the_schema(api_client):
    paths = api_client.get("/api/schema?format=json").json()["paths"]
    get = paths["/api/users/me/export"]["get"]
    body = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert "429" in get["responses"] and body
    delete = paths["/api/users/{user_id}"]["delete"]
    assert "password" in json.dumps(delete) or "requestBody" in delete


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_export_reads_one_snapshot():
    """In production the export opens its own transaction (REPEATABLE READ, READ ONLY); the other
    tests run inside the test transaction, where that statement is skipped."""
    from django.db import connection

    from apps.privacy.selectors import export_document

    user = UserFactory()
    assert not connection.in_atomic_block
    doc = export_document(user=user)
    assert set(doc["sections"]) == SECTIONS and doc["sections"]["accounts"]["account"]["id"] == user.pk
