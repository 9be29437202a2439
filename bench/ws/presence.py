"""Presence storm check: U signed-in users join one room (100 connects at a time), then all leave.
Counts every frame each socket receives: with batched diffs a join costs one presence.state to the
joiner and a share of a few presence.diff frames to the others, not a full state to everyone.

    .venv/bin/python bench/ws/presence.py --url ws://127.0.0.1:8101/ws/ --tokens-file tokens.txt --users 500
(run.py --kinds presence starts the server and makes the tokens)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import connect


async def main(a) -> dict:
    tokens = [t.strip() for t in open(a.tokens_file) if t.strip()][: a.users]  # noqa: SIM115
    room = f"presence:bench{int(time.time())}"
    counts = {"presence.state": 0, "presence.diff": 0, "other": 0}
    members_in_state = []
    joins_seen = 0
    leaves_seen = 0
    sem = asyncio.Semaphore(100)
    sockets = []

    async def reader(ws):
        nonlocal joins_seen, leaves_seen
        try:
            async for raw in ws:
                frame = json.loads(raw)
                event = frame.get("event")
                if event == "presence.state":
                    counts[event] += 1
                    members_in_state.append(len(frame["data"]["members"]))
                elif event == "presence.diff":
                    counts[event] += 1
                    joins_seen += len(frame["data"]["joins"])
                    leaves_seen += len(frame["data"]["leaves"])
                elif frame.get("type") != "subscribed":
                    counts["other"] += 1
        except Exception:
            pass

    async def join(token):
        async with sem:
            ws = await connect(f"{a.url}?token={token}", compression=None, ping_interval=None, max_queue=None)
            await ws.send(json.dumps({"type": "subscribe", "topic": room}))
            sockets.append(ws)
            asyncio.create_task(reader(ws))

    t0 = time.monotonic()
    await asyncio.gather(*(join(t) for t in tokens))
    join_s = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    after_join = dict(counts, joins_seen=joins_seen)
    t1 = time.monotonic()
    half = sockets[: len(sockets) // 2]
    await asyncio.gather(*(ws.close() for ws in half))
    leave_s = time.monotonic() - t1
    await asyncio.sleep(a.settle)
    result = {
        "users": len(tokens),
        "join_s": round(join_s, 2),
        "after_join": after_join,
        "state_members_max": max(members_in_state or [0]),
        "leave_half_s": round(leave_s, 2),
        "after_half_leave": dict(counts, leaves_seen=leaves_seen),
        "naive_full_state_frames": len(tokens) * (len(tokens) + 1) // 2,
    }
    for ws in sockets[len(sockets) // 2 :]:
        await ws.close()
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--tokens-file", required=True)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--settle", type=float, default=3.0)
    asyncio.run(main(ap.parse_args()))
