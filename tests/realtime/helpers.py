from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts.tokens import issue_token_pair
from successkid.routing import websocket_application
from tests.factories import UserFactory


@sync_to_async
def make_user(**kwargs):
    return UserFactory(**kwargs)


@sync_to_async
def token_for(user) -> str:
    return issue_token_pair(user)["access"]


async def open_socket(user=None, headers=None) -> WebsocketCommunicator:
    path = "/ws/"
    if user is not None:
        path += f"?token={await token_for(user)}"
    comm = WebsocketCommunicator(websocket_application, path, headers=headers or [])
    connected, _ = await comm.connect()
    assert connected
    return comm


async def subscribe(comm, topic, ref="s", **extra) -> dict:
    await comm.send_json_to({"type": "subscribe", "topic": topic, "ref": ref, **extra})
    return await comm.receive_json_from()


async def next_event(comm, timeout=2) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame.get("type") == "event":
            return frame
