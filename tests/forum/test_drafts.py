"""Drafts: autosave, list, resume, publish (new post or edit), discard."""

import pytest

from apps.forum.models import Draft, Post
from tests.factories import UserFactory
from tests.forum.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_autosave_resume_publish(auth_client, user, category):
    TagFactory(slug="gm")
    r = auth_client.post("/api/drafts", {"title": "Half a thought", "category": "general"}, format="json")
    assert r.status_code == 201, r.json()
    draft = r.json()["data"]
    assert draft["version"] == 1 and draft["category"] == "general" and draft["post_id"] is None
    r = auth_client.put(
        f"/api/drafts/{draft['id']}", {"body": "Now complete", "tags": ["GM"], "version": 1}, format="json"
    )
    assert r.json()["data"]["version"] == 2 and r.json()["data"]["tags"] == ["gm"]
    # a stale tab's autosave is refused
    r = auth_client.put(f"/api/drafts/{draft['id']}", {"body": "old tab", "version": 1}, format="json")
    assert r.status_code == 409
    listed = auth_client.get("/api/drafts").json()
    assert [d["id"] for d in listed["data"]] == [draft["id"]] and "pagination" in listed["meta"]
    assert auth_client.get(f"/api/drafts/{draft['id']}").json()["data"]["body"] == "Now complete"
    r = auth_client.post(f"/api/drafts/{draft['id']}/publish")
    assert r.status_code == 201, r.json()
    post = r.json()["data"]
    assert post["title"] == "Half a thought" and post["tags"] == ["gm"] and post["author"]["id"] == user.id
    assert not Draft.objects.exists()


def test_publishing_an_incomplete_draft_is_a_400_and_keeps_it(auth_client, category):
    d = auth_client.post("/api/drafts", {"title": "No body", "category": "general"}, format="json").json()["data"]
    r = auth_client.post(f"/api/drafts/{d['id']}/publish")
    assert r.status_code == 400 and "body" in r.json()["error"]["details"]
    assert Draft.objects.filter(pk=d["id"]).exists() and not Post.objects.exists()
    d2 = auth_client.post("/api/drafts", {"title": "No category", "body": "x"}, format="json").json()["data"]
    assert auth_client.post(f"/api/drafts/{d2['id']}/publish").status_code == 400


def test_edit_draft_updates_post_with_a_revision(make_client, category):
    post = PostFactory(category=category)
    client = make_client(post.author)
    d = client.post("/api/drafts", {"post_id": post.id, "title": post.title, "body": "Better body"}, format="json")
    assert d.status_code == 201
    r = client.post(f"/api/drafts/{d.json()['data']['id']}/publish")
    assert r.status_code == 201 and r.json()["data"]["body"] == "Better body" and r.json()["data"]["edited_at"]
    assert Post.objects.count() == 1


def test_drafts_are_private_and_discardable(auth_client, make_client, category):
    d = auth_client.post("/api/drafts", {"title": "mine"}, format="json").json()["data"]
    stranger = make_client(UserFactory())
    assert stranger.get(f"/api/drafts/{d['id']}").status_code == 404
    assert stranger.delete(f"/api/drafts/{d['id']}").status_code == 404
    assert stranger.post(f"/api/drafts/{d['id']}/publish").status_code == 404
    assert stranger.get("/api/drafts").json()["data"] == []
    assert auth_client.delete(f"/api/drafts/{d['id']}").status_code == 204
    assert not Draft.objects.exists()
    assert make_client().get("/api/drafts").status_code == 401


def test_draft_bad_input(auth_client, category):
    assert auth_client.post("/api/drafts", {"category": "nope"}, format="json").status_code == 400
    assert auth_client.post("/api/drafts", {"title": "x" * 301}, format="json").status_code == 400
    other = PostFactory(category=category)
    assert auth_client.post("/api/drafts", {"post_id": other.id}, format="json").status_code == 400
