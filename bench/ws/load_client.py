# ruff: noqa
# (A copy of ../shared/bench/wsfloor/load_client.py, kept close to the original so the two can be diffed.)
"""Broadcast fan-out load client (asyncio + `websockets` client).

COPIED from ../shared/bench/wsfloor/load_client.py (the floor benchmark's client) with three
changes for the project's real consumer, marked "PROJECT:" below: `--url` may repeat (receivers
are spread round-robin over several server processes) and `--server-pid` may repeat (their CPU is
summed); `--mode project` makes each receiver authenticate (`?token=`, tokens from
`--tokens-file`, cycled) and subscribe to `--topic`, counting it connected only after the
`subscribed` reply; events arrive as API.md frames `{"type": "event", ..., "data": {"seq", "t"}}`.
With `--mode floor` (default) it behaves exactly as the original.

Opens N receiver sockets (bounded connect concurrency), waits until every
connect attempt has finished, lets the server settle, then from one extra
sender socket (URL + ?role=sender) fires 1 warm-up + B measured broadcasts
{"type":"fire","seq":k,"t":<time.monotonic()>} one second apart.  For every
delivered message it records

  latency     = monotonic() when the receiving coroutine gets it   - t
  arrival lat = monotonic() when the socket's bytes reached the loop - t

(CLOCK_MONOTONIC is system-wide on Linux; sender and receivers are in this
process anyway.)  Server CPU (utime+stime from /proc/<pid>/stat) is sampled at
phase boundaries for --server-pid and every --extra-pid NAME=PID.

    python load_client.py --url ws://127.0.0.1:8001/ --n 1000 --server-pid 1234 \
        --out result.json
"""

import argparse
import asyncio
import json
import math
import os
import sys
import time

from websockets.asyncio.client import ClientConnection, connect

CLK_TCK = os.sysconf("SC_CLK_TCK")


class StampedConnection(ClientConnection):
    """Remembers when bytes last arrived from the kernel (one msg/s/socket)."""

    last_rx = 0.0

    def data_received(self, data):
        self.last_rx = time.monotonic()
        super().data_received(data)


def proc_cpu(pid):
    """CPU seconds of a process (all threads): nanosecond run time from
    /proc/<pid>/task/*/schedstat, falling back to utime+stime ticks."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, IndexError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def self_cpu():
    return proc_cpu(os.getpid())


def pct(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q * len(sorted_vals)) - 1))
    return sorted_vals[k]


def with_role(url, role):
    return url + ("&" if "?" in url else "?") + "role=" + role


def server_cpu(pids):
    """PROJECT: the summed CPU of every server process."""
    total = 0.0
    for pid in pids:
        v = proc_cpu(pid)
        if v is None:
            return None
        total += v
    return total


async def run(a):
    pids = {}
    tokens = []
    if a.tokens_file:
        with open(a.tokens_file) as f:
            tokens = [line.strip() for line in f if line.strip()]
    for spec in a.extra_pid:
        name, _, pid = spec.partition("=")
        pids[name] = int(pid)

    def cpu_snapshot():
        snap = {k: proc_cpu(v) for k, v in pids.items()}
        if a.server_pid:
            snap["server"] = server_cpu(a.server_pid)
        snap["client"] = self_cpu()
        snap["_wall"] = time.monotonic()
        return snap

    records = []  # (seq, recv_latency, arrival_latency)
    conn_errors = {}
    sockets = []
    sem = asyncio.Semaphore(a.connect_concurrency)
    all_done = asyncio.Event()
    expected_holder = {"expected": None}
    measured_count = [0]

    def note_error(e):
        key = type(e).__name__ + (f": {e}"[:120] if str(e) else "")
        conn_errors[key] = conn_errors.get(key, 0) + 1

    async def receiver(i):
        url = a.url[i % len(a.url)]  # PROJECT: spread over several processes
        if a.mode == "project":
            url = url + ("&" if "?" in url else "?") + "token=" + tokens[i % len(tokens)]
        async with sem:
            try:
                ws = await connect(
                    url,
                    compression=None,
                    ping_interval=None,
                    open_timeout=a.open_timeout,
                    max_queue=None,
                    create_connection=StampedConnection,
                    user_agent_header=None,
                    proxy=None,
                )
                if a.mode == "project":  # PROJECT: subscribe, wait for the reply
                    await ws.send(json.dumps({"type": "subscribe", "topic": a.topic, "ref": "s"}))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), a.open_timeout))
                    if reply.get("type") != "subscribed":
                        raise RuntimeError(f"subscribe refused: {reply}")
            except Exception as e:  # noqa: BLE001 - we count every failure kind
                note_error(e)
                return
        sockets.append(ws)
        try:
            async for raw in ws:
                now = time.monotonic()
                arr = ws.last_rx
                msg = json.loads(raw)
                if a.mode == "project":  # PROJECT: API.md event frames
                    if msg.get("type") != "event":
                        continue
                    msg = msg["data"]
                t = msg["t"]
                records.append((msg["seq"], now - t, arr - t))
                if msg["seq"] >= 1:
                    measured_count[0] += 1
                    exp = expected_holder["expected"]
                    if exp is not None and measured_count[0] >= exp:
                        all_done.set()
        except Exception as e:  # noqa: BLE001
            note_error(e)

    cpu0 = cpu_snapshot()
    t_conn0 = time.monotonic()
    tasks = [asyncio.create_task(receiver(i)) for i in range(a.n)]
    # wait until every connect attempt finished (success or failure)
    while len(sockets) + sum(conn_errors.values()) < a.n:
        await asyncio.sleep(0.05)
    connect_s = time.monotonic() - t_conn0
    connected = len(sockets)
    cpu1 = cpu_snapshot()
    rss = {k: proc_rss_mb(v) for k, v in pids.items()}
    print(f"connected {connected}/{a.n} in {connect_s:.2f}s errors={conn_errors}", file=sys.stderr, flush=True)

    sender = await connect(
        with_role(a.url[0], "sender"),
        compression=None,
        ping_interval=None,
        open_timeout=a.open_timeout,
        user_agent_header=None,
        proxy=None,
    )
    cpu_s0 = cpu_snapshot()
    await asyncio.sleep(a.settle)
    cpu_s1 = cpu_snapshot()

    expected_holder["expected"] = connected * a.broadcasts
    if connected == 0:
        all_done.set()
    fire_times = {}
    t0 = time.monotonic()
    cpu2 = None
    for seq in range(0, a.broadcasts + 1):  # seq 0 = warm-up, not counted
        target = t0 + seq * a.interval
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if seq == 1:
            cpu2 = cpu_snapshot()
        t = time.monotonic()
        fire_times[seq] = t
        await sender.send(json.dumps({"type": "fire", "seq": seq, "t": t}))
    try:
        await asyncio.wait_for(all_done.wait(), timeout=a.drain_timeout)
        drained = True
    except asyncio.TimeoutError:
        drained = False
    cpu3 = cpu_snapshot()

    # ---- summarise -------------------------------------------------------
    meas = [r for r in records if r[0] >= 1]
    lat = sorted(r[1] for r in meas)
    arr = sorted(r[2] for r in meas)
    per_seq = {}
    for seq, l, _ in meas:
        c, m = per_seq.get(seq, (0, 0.0))
        per_seq[seq] = (c + 1, max(m, l))
    spans = sorted(m for _, m in per_seq.values())
    warm = sorted(r[1] for r in records if r[0] == 0)

    def cpu_delta(s_a, s_b):
        out = {}
        wall = s_b["_wall"] - s_a["_wall"]
        for k in s_b:
            if k == "_wall" or s_a.get(k) is None or s_b.get(k) is None:
                continue
            d = s_b[k] - s_a[k]
            out[k] = {"cpu_s": round(d, 6), "pct_core": round(100 * d / wall, 1) if wall > 0 else None}
        out["wall_s"] = round(wall, 3)
        return out

    fire_cpu = cpu_delta(cpu2, cpu3)
    per_bcast_ms = {k: round(1000 * v["cpu_s"] / a.broadcasts, 2) for k, v in fire_cpu.items() if k != "wall_s"}
    ms = lambda v: None if v is None else round(1000 * v, 2)  # noqa: E731
    result = {
        "label": a.label,
        "url": a.url,
        "n": a.n,
        "connected": connected,
        "connect_errors": conn_errors,
        "connect_s": round(connect_s, 2),
        "broadcasts": a.broadcasts,
        "delivered": len(meas),
        "expected": connected * a.broadcasts,
        "drained": drained,
        "lat_ms": {
            "p50": ms(pct(lat, 0.50)),
            "p95": ms(pct(lat, 0.95)),
            "p99": ms(pct(lat, 0.99)),
            "max": ms(lat[-1] if lat else None),
        },
        "arrival_lat_ms": {
            "p50": ms(pct(arr, 0.50)),
            "p95": ms(pct(arr, 0.95)),
            "p99": ms(pct(arr, 0.99)),
            "max": ms(arr[-1] if arr else None),
        },
        "fanout_span_ms": {"median": ms(pct(spans, 0.5)), "max": ms(spans[-1] if spans else None)},
        "warmup_ms": {"delivered": len(warm), "p50": ms(pct(warm, 0.5)), "max": ms(warm[-1] if warm else None)},
        "cpu_connect_phase": cpu_delta(cpu0, cpu1),
        "cpu_idle_settle_phase": cpu_delta(cpu_s0, cpu_s1),
        "cpu_fire_phase": fire_cpu,
        "cpu_ms_per_broadcast": per_bcast_ms,
        "rss_mb_after_connect": rss,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result), flush=True)

    # Graceful close, same bounded concurrency as the connect phase; the
    # harness stops the server (by pid) afterwards anyway.
    async def close_one(ws):
        async with sem:
            try:
                await ws.close()
            except Exception:  # noqa: BLE001
                pass

    try:
        await asyncio.wait_for(asyncio.gather(*(close_one(w) for w in sockets + [sender])), timeout=a.close_timeout)
    except asyncio.TimeoutError:
        print("close phase timed out", file=sys.stderr, flush=True)
    for t in tasks:
        t.cancel()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, action="append", help="repeatable (PROJECT)")
    ap.add_argument("--mode", choices=["floor", "project"], default="floor")
    ap.add_argument("--topic", default="posts")
    ap.add_argument("--tokens-file")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--broadcasts", type=int, default=20)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--connect-concurrency", type=int, default=100)
    ap.add_argument("--open-timeout", type=float, default=30.0)
    ap.add_argument("--drain-timeout", type=float, default=30.0)
    ap.add_argument("--close-timeout", type=float, default=60.0)
    ap.add_argument("--server-pid", type=int, action="append", help="repeatable (PROJECT)")
    ap.add_argument("--extra-pid", action="append", default=[], help="NAME=PID, repeatable")
    ap.add_argument("--label", default="")
    ap.add_argument("--out")
    a = ap.parse_args()
    asyncio.run(run(a))


if __name__ == "__main__":
    main()
