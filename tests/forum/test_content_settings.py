"""Content settings (`show_nsfw`, `hidden_categories`, `hidden_tags`) are honoured by the owner's
feeds and search; posts carry an `is_nsfw` flag their author sets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, TagFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["data"]}


def test_feed_and_search_honour_the_owners_content_settings(make_client, api_client):
    general, noisy = CategoryFactory(slug="cs-general"), CategoryFactory(slug="cs-noisy")
    TagFactory(slug="airdrop")
    author = make_client(UserFactory(date_joined=timezone.now() - timedelta(days=30)))  # past new-account caps

    def post(title, category=general, **extra):
        r = author.post(
            "/api/posts", {"title": title, "body": "wombat", "category": category.slug, **extra}, format="json"
        )
        assert r.status_code == 201, r.content
        return r.json()["data"]

    plain = post("Wombat plain")
    nsfw = post("Wombat spicy", is_nsfw=True)
    assert nsfw["is_nsfw"] is True and plain["is_nsfw"] is False
    in_noisy = post("Wombat noisy", category=noisy)
    tagged = post("Wombat airdrop", tags=["airdrop"])

    owner = UserFactory()
    client = make_client(owner)
    everything = {plain["id"], nsfw["id"], in_noisy["id"], tagged["id"]}
    assert _ids(client.get("/api/posts")) == everything - {nsfw["id"]}  # show_nsfw is off by default
    assert _ids(api_client.get("/api/search", {"q": "wombat"})) == everything - {nsfw["id"]}

    r = client.put(
        "/api/users/me/settings",
        {"content": {"show_nsfw": True, "hidden_categories": ["cs-noisy"], "hidden_tags": ["airdrop"]}},
        format="json",
    )
    assert r.status_code == 200, r.content
    shown = {plain["id"], nsfw["id"]}
    assert _ids(client.get("/api/posts")) == shown
    assert _ids(client.get("/api/search", {"q": "wombat"})) == shown
    assert {t["id"] for t in client.get("/api/search/suggest", {"q": "wombat"}).json()["data"]["titles"]} == shown
    # Asking for the hidden category by name still shows it (minus the hidden tag).
    assert _ids(client.get("/api/posts", {"category": "cs-noisy"})) == {in_noisy["id"]}
    # Others are not affected by the owner's choices.
    assert _ids(make_client(UserFactory()).get("/api/posts")) == everything - {nsfw["id"]}

    # The author can clear the flag.
    r = author.patch(f"/api/posts/{nsfw['id']}", {"is_nsfw": False}, format="json")
    assert r.status_code == 200, r.content
    assert nsfw["id"] in _ids(api_client.get("/api/posts"))
