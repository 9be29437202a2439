"""GET /api/search/suggest: titles, tags and usernames by prefix and trigram similarity, and
"did you mean" for misspellings."""

import pytest

from apps.search import services
from tests.factories import UserFactory
from tests.search.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def suggest(client, q):
    response = client.get("/api/search/suggest", {"q": q})
    assert response.status_code == 200, response.json()
    return response.json()["data"]


@pytest.fixture
def corpus(db):
    posts = [
        PostFactory(title="Success Kid community roadmap", score=5, upvotes=5),
        PostFactory(title="Successful launch recap", score=1, upvotes=1),
        PostFactory(title="Liquidity pool explained", tag_slugs=["liquidity"]),
        PostFactory(title="Community calls every Friday", tag_slugs=["community"]),
    ]
    TagFactory(slug="solana", name="Solana", post_count=50)
    TagFactory(slug="solana-pay", name="Solana Pay", post_count=5)
    TagFactory(slug="memes", name="Memes", post_count=20)
    UserFactory(username="successkid_fan")
    UserFactory(username="sol_whale")
    services.vocabulary_refresh()
    return posts


def test_title_prefix(api_client, corpus):
    data = suggest(api_client, "succes")
    assert [t["id"] for t in data["titles"]] == [corpus[0].id, corpus[1].id]  # by score
    data = suggest(api_client, "success kid comm")
    assert [t["id"] for t in data["titles"]] == [corpus[0].id]


def test_tags_by_prefix_then_similarity(api_client, corpus):
    assert [t["slug"] for t in suggest(api_client, "sol")["tags"]] == ["solana", "solana-pay"]
    assert [t["slug"] for t in suggest(api_client, "slana")["tags"]][:1] == ["solana"]  # typo


def test_usernames_by_prefix_and_similarity(api_client, corpus):
    assert [u["username"] for u in suggest(api_client, "successk")["users"]] == ["successkid_fan"]
    assert "sol_whale" in [u["username"] for u in suggest(api_client, "sol_whael")["users"]]


def test_did_you_mean_fixes_typos(api_client, corpus):
    assert suggest(api_client, "sucess kid")["did_you_mean"] == "success kid"
    assert suggest(api_client, "liquidty pool")["did_you_mean"] == "liquidity pool"
    assert suggest(api_client, "community")["did_you_mean"] is None  # nothing to fix


def test_search_offers_did_you_mean_when_nothing_matches(api_client, corpus):
    response = api_client.get("/api/search", {"q": "comunity roadmap"})
    body = response.json()
    assert body["meta"]["relaxed"] is True  # no post has both words, so "roadmap" alone matched
    assert body["meta"]["did_you_mean"] == "community roadmap"
    assert api_client.get("/api/search", {"q": "zzyzx"}).json()["data"] == []
    fixed = api_client.get("/api/search", {"q": body["meta"]["did_you_mean"]}).json()
    assert [p["id"] for p in fixed["data"]] == [corpus[0].id]


@pytest.mark.parametrize("q", ["", "a", "\x00\x00", "%%", "x" * 5000, "🚀", "' OR 1=1 --", "&|!:*"])
def test_odd_input_is_an_empty_answer(api_client, corpus, q):
    data = suggest(api_client, q)
    assert set(data) == {"query", "titles", "tags", "users", "did_you_mean"}
