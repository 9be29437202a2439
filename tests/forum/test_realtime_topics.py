"""`category:<slug>` and `post:<id>` topics: subscribe when you may read, events arrive after writes."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts.tokens import issue_token_pair
from apps.forum.services import comment_create, vote_post
from successkid.routing import websocket_application
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory, PostFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user=None):
    path = "/ws/"
    if user is not None:
        token = await sync_to_async(lambda: issue_token_pair(user)["access"])()
        path += f"?token={token}"
    comm = WebsocketCommunicator(websocket_application, path)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def subscribe(comm, topic):
    await comm.send_json_to({"type": "subscribe", "topic": topic, "ref": "r"})
    return await comm.receive_json_from()


async def test_topic_authorisation():
    public = await sync_to_async(CategoryFactory)(slug="general")
    await sync_to_async(CategoryFactory)(slug="holders", read_min_tier="holder")
    post = await sync_to_async(PostFactory)(category=public)
    secret = await sync_to_async(PostFactory)(
        category=await sync_to_async(CategoryFactory)(slug="whales", read_min_tier="whale")
    )
    comm = await connect()
    assert (await subscribe(comm, "category:general"))["type"] == "subscribed"
    assert (await subscribe(comm, f"post:{post.id}"))["type"] == "subscribed"
    assert (await subscribe(comm, "category:holders"))["error"]["code"] == "forbidden"
    assert (await subscribe(comm, "category:nope"))["error"]["code"] == "forbidden"
    assert (await subscribe(comm, f"post:{secret.id}"))["error"]["code"] == "forbidden"
    assert (await subscribe(comm, "post:abc"))["error"]["code"] == "forbidden"
    await comm.disconnect()
    whale = await sync_to_async(UserFactory)()

    def promote():
        whale.profile.holder_tier = "whale"
        whale.profile.save()

    await sync_to_async(promote)()
    comm = await connect(whale)
    assert (await subscribe(comm, f"post:{secret.id}"))["type"] == "subscribed"
    assert (await subscribe(comm, "category:holders"))["type"] == "subscribed"
    await comm.disconnect()


async def test_comment_and_vote_events_reach_post_subscribers():
    cat = await sync_to_async(CategoryFactory)(slug="general")
    post = await sync_to_async(PostFactory)(category=cat)
    user = await sync_to_async(UserFactory)()
    comm = await connect()
    await subscribe(comm, f"post:{post.id}")
    comment = await sync_to_async(comment_create)(author=user, post_id=post.id, body="live!")
    frame = await comm.receive_json_from(timeout=3)
    assert frame["event"] == "comment.created" and frame["data"]["id"] == comment.id
    assert frame["data"]["body_html"] == "<p>live!</p>\n" and frame["data"]["my_vote"] == 0
    await sync_to_async(vote_post)(user=user, post_id=post.id, value=1)
    frame = await comm.receive_json_from(timeout=3)
    assert frame["event"] == "vote.changed" and frame["data"]["score"] == 1
    await comm.disconnect()


async def test_new_posts_reach_posts_and_category_topics():
    from apps.forum.services import post_create

    cat = await sync_to_async(CategoryFactory)(slug="memes", name="Memes")
    user = await sync_to_async(UserFactory)()
    comm = await connect()
    await subscribe(comm, "posts")
    await subscribe(comm, "category:memes")
    post = await sync_to_async(post_create)(author=user, category=cat, title="Fresh meme", body="👊")
    frames = [await comm.receive_json_from(timeout=3) for _ in range(2)]
    assert {f["topic"] for f in frames} == {"posts", "category:memes"}
    assert all(f["event"] == "post.created" and f["data"]["id"] == post.id for f in frames)
    assert frames[0]["data"]["category"] == {"slug": "memes", "name": "Memes"}
    await comm.disconnect()
