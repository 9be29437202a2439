"""The index: triggers keep search_vector current in the writing transaction; the configuration is
accent-insensitive and keeps $TICKERS and base58 addresses findable."""

import pytest
from django.db import connection

from apps.forum.models import Comment, Post
from tests.search.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db

MINT = "4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW"


def matches(model, pk, tsquery_sql, *params):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT search_vector @@ ({tsquery_sql}) FROM {table} WHERE id = %s", [*params, pk])
        return cursor.fetchone()[0]


def web(q):
    return "websearch_to_tsquery('public.sk_english', %s)", q


def test_insert_fills_weighted_vector():
    post = PostFactory(title="Moon mission", body="Body talks about rockets", tag_slugs=["price-talk"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM posts WHERE id = %s", [post.id])
        vector = cursor.fetchone()[0]
    assert "'moon':1A" in vector
    assert "'price':" in vector and "B" in vector.split("'price':")[1].split(" ")[0]
    assert "'rocket':" in vector and "C" in vector.split("'rocket':")[1].split(" ")[0]


def test_update_reindexes_in_the_same_transaction():
    post = PostFactory(title="Old words", body="nothing")
    assert not matches(Post, post.id, *web("giraffe"))
    Post.objects.filter(id=post.id).update(title="A giraffe appears")
    # Still inside the test's transaction: the trigger ran as part of the UPDATE itself.
    assert matches(Post, post.id, *web("giraffe"))
    assert not matches(Post, post.id, *web("old"))


def test_tag_change_reindexes():
    post = PostFactory(title="Plain", tag_slugs=[])
    Post.objects.filter(id=post.id).update(tag_slugs=["airdrop"])
    assert matches(Post, post.id, *web("airdrop"))


def test_unrelated_update_keeps_vector():
    post = PostFactory(title="Steady title", body="body")
    Post.objects.filter(id=post.id).update(score=5, upvotes=5)
    assert matches(Post, post.id, *web("steady"))


def test_accents_are_ignored_both_ways():
    post = PostFactory(title="Crème brûlée at the café", body="Pokémon")
    assert matches(Post, post.id, *web("creme brulee cafe"))
    assert matches(Post, post.id, *web("pokemon"))
    plain = PostFactory(title="Cafe", body="")
    assert matches(Post, plain.id, *web("café"))


def test_ticker_and_address_lexemes():
    post = PostFactory(title="Why $SKID", body=f"The mint is {MINT}, not $BONK.")
    assert matches(Post, post.id, "%s::tsquery", "'$skid'")
    assert matches(Post, post.id, "%s::tsquery", "'$bonk'")
    assert matches(Post, post.id, "%s::tsquery", f"'{MINT}'")
    word_only = PostFactory(title="skid marks", body="")
    assert not matches(Post, word_only.id, "%s::tsquery", "'$skid'")


def test_comments_are_indexed_and_reindexed():
    comment = CommentFactory(body="First thoughts on staking")
    assert matches(Comment, comment.id, *web("staking"))
    Comment.objects.filter(id=comment.id).update(body="Edited: liquidity instead")
    assert matches(Comment, comment.id, *web("liquidity"))
    assert not matches(Comment, comment.id, *web("staking"))
