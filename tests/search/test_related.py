"""GET /api/posts/:id/related: shared tags and text similarity."""

import pytest

from apps.forum.models import ContentStatus
from tests.search.factories import PostFactory

pytestmark = pytest.mark.django_db


def related(client, post_id, **params):
    response = client.get(f"/api/posts/{post_id}/related", params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["data"]]


def test_ranks_by_shared_tags_and_words(api_client):
    source = PostFactory(title="Staking rewards on Solana", tag_slugs=["staking", "solana"])
    both_tags = PostFactory(title="Weekly digest", tag_slugs=["staking", "solana"])
    one_tag_and_words = PostFactory(title="Solana staking rewards compared", tag_slugs=["solana"])
    words_only = PostFactory(title="Rewards for staking", tag_slugs=[])
    one_tag = PostFactory(title="Validator news", tag_slugs=["solana", "news", "validators"])
    PostFactory(title="Cat pictures", tag_slugs=["memes"])  # unrelated
    PostFactory(title="Staking rewards hidden", tag_slugs=["staking"], status=ContentStatus.HIDDEN)

    got = related(api_client, source.id, limit=10)
    assert source.id not in got
    assert set(got) == {both_tags.id, one_tag_and_words.id, words_only.id, one_tag.id}
    # 0.6·Jaccard(tags) + 0.4·text: both tags (0.78) > one tag + every word (0.61)
    # > words only (0.27) > one tag of four (0.26).
    assert got == [both_tags.id, one_tag_and_words.id, words_only.id, one_tag.id]


def test_limit_and_shape(api_client):
    source = PostFactory(title="Airdrop", tag_slugs=["airdrop"])
    for _ in range(4):
        PostFactory(title="Airdrop news", tag_slugs=["airdrop"])
    response = api_client.get(f"/api/posts/{source.id}/related", {"limit": 2})
    body = response.json()
    assert len(body["data"]) == 2
    assert body["meta"]["pagination"] == {"page": 1, "limit": 2, "total": 2}
    row = body["data"][0]
    assert {"id", "title", "category", "tags", "author", "score", "created_at"} <= set(row)


def test_missing_or_unreadable_post_is_404(api_client):
    hidden = PostFactory(title="Hidden", status=ContentStatus.HIDDEN)
    for pid in (hidden.id, 999999):
        response = api_client.get(f"/api/posts/{pid}/related")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_post_without_tags_or_words(api_client):
    source = PostFactory(title="the and of", tag_slugs=[])  # only stop words
    PostFactory(title="Something")
    assert related(api_client, source.id) == []


def test_cached_related_list_drops_a_post_hidden_since(api_client):
    source = PostFactory(title="Bridges", tag_slugs=["bridge"])
    other = PostFactory(title="Bridge fees", tag_slugs=["bridge"], category=source.category)
    assert related(api_client, source.id) == [other.id]  # cached now
    type(other).objects.filter(id=other.id).update(status=ContentStatus.HIDDEN)
    assert related(api_client, source.id) == []
