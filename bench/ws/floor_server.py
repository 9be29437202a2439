# ruff: noqa
# (A copy of ../shared/bench/wsfloor/floor_server.py, kept close to the original so the two can be diffed.)
"""FLOOR server: plain `websockets` (asyncio) broadcast, no framework.

Every client that connects without `?role=sender` joins the broadcast set.
Any client may send {"type": "fire", "seq": N, "t": <sender time>}; the server
then sends that JSON (decoded once, re-encoded once) to every member of the set
with websockets.broadcast (one loop, no awaiting per client).

    python floor_server.py --port 8001
"""

import argparse
import asyncio
import json
import os
import signal

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

CLIENTS = set()


async def handler(ws):
    is_sender = "role=sender" in (ws.request.path if ws.request else "")
    if not is_sender:
        CLIENTS.add(ws)
    try:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get("type") == "fire":
                broadcast(CLIENTS, json.dumps(msg))
    except ConnectionClosed:
        pass
    finally:
        CLIENTS.discard(ws)


async def main(host, port, backlog):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # compression=None: the load client offers none anyway; ping_interval=None:
    # no keepalive traffic inside the measurement window (same as uvicorn
    # --ws-ping-interval 0 for the Channels servers).
    async with serve(handler, host, port, compression=None, ping_interval=None, max_size=2**20, backlog=backlog):
        print(f"READY floor pid={os.getpid()} port={port}", flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--backlog", type=int, default=2048)
    a = ap.parse_args()
    asyncio.run(main(a.host, a.port, a.backlog))
