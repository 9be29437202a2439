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
import os
import time

from websockets.asyncio.client import connect


def proc_cpu(pid: int) -> float:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


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

    async def until(predicate, timeout):
        end = time.monotonic() + timeout
        while not predicate() and time.monotonic() < end:
            await asyncio.sleep(0.05)
        return predicate()

    def cpu():
        return sum(proc_cpu(pid) for pid in a.server_pid)

    c0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(join(t) for t in tokens))
    all_states = await until(lambda: counts["presence.state"] >= len(tokens), a.timeout)
    join_s = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    join_cpu = cpu() - c0
    after_join = dict(counts, joins_seen=joins_seen)
    half = sockets[: len(sockets) // 2]
    stay = len(sockets) - len(half)
    c1, t1 = cpu(), time.monotonic()
    await asyncio.gather(*(ws.close() for ws in half))
    all_leaves = await until(lambda: leaves_seen >= stay * len(half), a.timeout)
    leave_s = time.monotonic() - t1
    result = {
        "users": len(tokens),
        "every_joiner_got_its_state": all_states,
        "join_all_s": round(join_s, 2),
        "join_server_cpu_s": round(join_cpu, 2),
        "after_join": after_join,
        "state_members_max": max(members_in_state or [0]),
        "every_stayer_saw_every_leave": all_leaves,
        "leave_half_s": round(leave_s, 2),
        "leave_server_cpu_s": round(cpu() - c1, 2),
        "after_half_leave": dict(counts, leaves_seen=leaves_seen),
        "per_join_diff_frames_without_batching": len(tokens) * (len(tokens) - 1) // 2,
        "full_state_to_everyone_frames": len(tokens) * (len(tokens) + 1) // 2,
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
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--server-pid", type=int, action="append", default=[])
    asyncio.run(main(ap.parse_args()))
