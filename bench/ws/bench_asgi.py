"""The project's real ASGI application (Origin check, token auth, the RealtimeConsumer with topic
authorisation, the hub) plus one bench-only door: a socket opened with `?role=sender` sends
`{"type": "fire", "seq": k, "t": ...}` and the server publishes it with
`apps.core.push.abroadcast_now(TOPIC, "bench.fire", {...})`, i.e. exactly the path every
`broadcast()` after commit takes (channel layer group_send → each process's hub → sockets).

    DJANGO_SETTINGS_MODULE=successkid.settings.dev uvicorn bench.ws.bench_asgi:app ...
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")

from apps.core.access import OPEN
from apps.core.push import abroadcast_now
from successkid.asgi import application

TOPIC = os.environ.get("WSBENCH_TOPIC", "posts")
AUDIENCE = OPEN.wire()  # a public post's rule: every socket receives it, after the per-class check


async def _sender(scope, receive, send):
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            fire = json.loads(message.get("text") or "")
        except ValueError:
            continue
        if isinstance(fire, dict) and fire.get("type") == "fire":
            # With a read rule, as every post event carries: the hub checks it once per viewer class.
            await abroadcast_now(TOPIC, "bench.fire", {"seq": fire["seq"], "t": fire["t"]}, audience=AUDIENCE)


async def app(scope, receive, send):
    if scope["type"] == "websocket" and b"role=sender" in scope.get("query_string", b""):
        return await _sender(scope, receive, send)
    return await application(scope, receive, send)
