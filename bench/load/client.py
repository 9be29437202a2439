"""The mixed workload of the load runs: HTTP users (browse, vote, comment, post) and WebSocket
listeners, all in one asyncio loop (httpx + websockets). Driven by bench/load/run.py.

Each HTTP worker owns a disjoint set of users and runs one request at a time, so every user's
actions happen in a known order: the client knows what each acknowledged request changed, which is
what the exact checks (bench/load/check.py) compare the database with. The budgets below keep
every user inside the gamification caps, so the expected points are exact (see bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
import websockets

# Gamification caps (fixtures/gamification_activities.json), turned into per-user action budgets:
# posts 10 pts, cap 50/day -> 5 posts; comments 2 pts, cap 40 -> 20; upvotes received on posts
# 5 pts, cap 200 -> 40, on comments 2 pts, cap 100 -> 50; the same voter's upvotes for the same
# author earn full points 3 times (GAMIFICATION_SAME_VOTER_FULL_AWARDS), then half: at most 3.
# Gross: 50 + 5 (first post of the day) + 40 + 200 + 100 + 1 (daily visit) = 396 < 500 (daily cap).
MAX_POSTS = 5
MAX_COMMENTS = 20
MAX_UPVOTES_RECEIVED = {"post": 40, "comment": 50}
MAX_UPVOTES_PAIR = 3

MIX = {
    "feed": 24,
    "post_detail": 14,
    "comments_list": 14,
    "categories": 4,
    "leaderboard": 4,
    "price": 4,
    "unread_count": 4,
    "vote": 20,
    "comment": 9,
    "post": 3,
}


@dataclass
class Journal:
    run_id: str
    samples: list = field(default_factory=list)  # (t, kind, status, ms)
    posts: dict = field(default_factory=dict)  # marker -> {author_id, post_id|None, acked, status}
    comments: dict = field(default_factory=dict)  # marker -> {author_id, post_id, comment_id|None, acked}
    votes: list = field(default_factory=list)  # [voter, type, target, value, acked, status]
    ws: dict = field(default_factory=lambda: {"connects": 0, "disconnects": 0, "errors": 0, "events": Counter()})
    ws_post_created: dict = field(default_factory=dict)  # post_id -> [receipt times]
    ws_windows: list = field(default_factory=list)  # per socket: [connected_at, disconnected_at|None]
    post_ack_times: dict = field(default_factory=dict)  # post_id -> (sent, acked)
    timeline: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # sec -> [ok, err, ws]
    price_samples: list = field(default_factory=list)  # (t, status, stale)
    retries: Counter = field(default_factory=Counter)  # kind -> POSTs sent again with their Idempotency-Key
    replayed: Counter = field(default_factory=Counter)  # kind -> answers marked Idempotent-Replayed


class State:
    """What the client believes (only acknowledged requests move it) and what it has spent."""

    def __init__(self, seed: dict):
        self.posts = [(p["id"], p["author_id"]) for p in seed["posts"]]
        self.comments: list[tuple[int, int, int]] = []  # (comment_id, post_id, author_id)
        self.categories = seed["categories"]
        self.vote = {}  # (voter, type, id) -> known value, or None when a failed request left it unknown
        self.upvotes_received = Counter()  # (author, type) -> upvotes attempted
        self.pair = Counter()  # (voter, author) -> upvotes attempted
        self.posts_by = Counter()
        self.comments_by = Counter()
        self.voted_by: dict[int, list] = {}  # user -> [(type, id, author)] voted on at least once
        self.voted_keys: set = set()


def _ok(status: int) -> bool:
    return 200 <= status < 300


async def _request(client, journal, kind, method, url, **kw):
    t0 = time.time()
    try:
        r = await client.request(method, url, **kw)
        status = r.status_code
        if r.headers.get("Idempotent-Replayed") == "true":
            journal.replayed[kind] += 1
        body = None
        if _ok(status) and (method != "GET" or kind == "price"):
            body = r.json().get("data")
        elif not _ok(status):
            try:
                body = r.json()
            except ValueError:
                body = {"raw": r.text[:200]}
    except (httpx.HTTPError, OSError) as exc:
        status, body = 0, {"exception": type(exc).__name__}
    ms = (time.time() - t0) * 1000
    journal.samples.append((t0, kind, status, ms))
    journal.timeline[int(t0)][0 if _ok(status) else 1] += 1
    if not _ok(status) and len(journal.__dict__.setdefault("error_examples", [])) < 40:
        journal.error_examples.append({"t": round(t0, 1), "kind": kind, "status": status, "body": str(body)[:300]})
    return status, body


RETRYABLE = {0, 502, 503, 504}  # no answer, or the server could not reach the database
RETRY_GRACE_SECONDS = 30


async def _create(client, journal, kind, url, *, json, headers, key, deadline):
    """A POST that creates something, sent like a careful client: with an Idempotency-Key, and
    again with the same key while it gets no answer or a 503 (the first attempt may have been
    stored; the key makes the retry replay it instead of creating a second one)."""
    headers = {**headers, "Idempotency-Key": key}
    attempt = 0
    while True:
        status, data = await _request(client, journal, kind, "POST", url, json=json, headers=headers)
        if status not in RETRYABLE or time.time() > deadline + RETRY_GRACE_SECONDS:
            return status, data
        attempt += 1
        journal.retries[kind] += 1
        await asyncio.sleep(min(5.0, 0.5 * attempt))


async def http_worker(wid, users, base, state: State, journal: Journal, deadline, think):
    rng = random.Random(wid)
    kinds, weights = zip(*MIX.items(), strict=True)
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as client:
        n = 0
        while time.time() < deadline:
            user = users[n % len(users)]
            n += 1
            headers = {"Authorization": f"Bearer {user['token']}"}
            kind = rng.choices(kinds, weights)[0]
            uid = user["id"]
            if kind == "feed":
                sort = rng.choice(["hot", "new", "top", "hot"])
                params = {"sort": sort}
                if rng.random() < 0.3:
                    params["category"] = rng.choice(state.categories)
                await _request(client, journal, f"feed_{sort}", "GET", "/api/posts", params=params, headers=headers)
            elif kind == "post_detail":
                pid, _ = rng.choice(state.posts)
                await _request(client, journal, kind, "GET", f"/api/posts/{pid}", headers=headers)
            elif kind == "comments_list":
                pid, _ = rng.choice(state.posts)
                await _request(client, journal, kind, "GET", f"/api/posts/{pid}/comments", params={"sort": "best"})
            elif kind == "categories":
                await _request(client, journal, kind, "GET", "/api/categories")
            elif kind == "leaderboard":
                await _request(client, journal, kind, "GET", "/api/leaderboard", params={"period": "day"})
            elif kind == "price":
                t = time.time()
                status, data = await _request(client, journal, kind, "GET", "/api/market/price")
                journal.price_samples.append((t, status, (data or {}).get("stale") if _ok(status) else None))
            elif kind == "unread_count":
                await _request(client, journal, kind, "GET", "/api/notifications/unread-count", headers=headers)
            elif kind == "post":
                if state.posts_by[uid] >= MAX_POSTS:
                    continue
                state.posts_by[uid] += 1
                marker = f"L{journal.run_id}-u{uid}-p{state.posts_by[uid]}"
                rec = {"author_id": uid, "post_id": None, "acked": False, "status": None}
                journal.posts[marker] = rec
                sent = time.time()
                status, data = await _create(
                    client,
                    journal,
                    "create_post",
                    "/api/posts",
                    json={
                        "title": f"Load post {marker}",
                        "body": f"Body of {marker}: a small win today, shared by user {uid}.",
                        "category": rng.choice(state.categories),
                    },
                    headers=headers,
                    key=marker,
                    deadline=deadline,
                )
                rec["status"] = status
                if _ok(status):
                    rec.update(acked=True, post_id=data["id"])
                    state.posts.append((data["id"], uid))
                    journal.post_ack_times[data["id"]] = (sent, time.time())
            elif kind == "comment":
                if state.comments_by[uid] >= MAX_COMMENTS:
                    continue
                pid, _ = rng.choice(state.posts)
                parent = None
                same_post = [c for c in state.comments[-200:] if c[1] == pid]
                if same_post and rng.random() < 0.4:
                    parent = rng.choice(same_post)[0]
                state.comments_by[uid] += 1
                marker = f"L{journal.run_id}-u{uid}-c{state.comments_by[uid]}"
                rec = {"author_id": uid, "post_id": pid, "comment_id": None, "acked": False, "status": None}
                journal.comments[marker] = rec
                body = {"body": f"Comment {marker}: congrats!"}
                if parent:
                    body["parent_id"] = parent
                status, data = await _create(
                    client,
                    journal,
                    "create_comment",
                    f"/api/posts/{pid}/comments",
                    json=body,
                    headers=headers,
                    key=marker,
                    deadline=deadline,
                )
                rec["status"] = status
                if _ok(status):
                    rec.update(acked=True, comment_id=data["id"])
                    state.comments.append((data["id"], pid, uid))
            elif kind == "vote":
                await _vote(rng, client, uid, headers, state, journal)
            if think:
                await asyncio.sleep(rng.uniform(0, 2 * think))


async def _vote(rng, client, uid, headers, state: State, journal: Journal):
    mine = state.voted_by.get(uid)
    if mine and rng.random() < 0.4:
        # Change one of my earlier votes (flip, retract, re-upvote): the totals must follow.
        ttype, tid, author = rng.choice(mine)
    elif state.comments and rng.random() < 0.35:
        cid, _, author = rng.choice(state.comments)
        ttype, tid = "comment", cid
    else:
        tid, author = rng.choice(state.posts)
        ttype = "post"
    if author == uid:
        return  # the API refuses self-votes (403): not part of the mix
    key = (uid, ttype, tid)
    if key in state.vote and state.vote[key] is None:
        return  # unknown after a failed request: leave it alone, the check allows either value
    current = state.vote.get(key, 0)
    can_up = (
        state.upvotes_received[(author, ttype)] < MAX_UPVOTES_RECEIVED[ttype]
        and state.pair[(uid, author)] < MAX_UPVOTES_PAIR
    )
    if current == 1:
        value = -1 if rng.random() < 0.3 else 0
    elif current == -1:
        value = 1 if (can_up and rng.random() < 0.5) else 0
    else:
        value = 1 if (can_up and rng.random() < 0.85) else -1
    if value == 1:
        state.upvotes_received[(author, ttype)] += 1
        state.pair[(uid, author)] += 1
    path = f"/api/{ttype}s/{tid}/vote"
    status, data = await _request(
        client, journal, f"vote_{ttype}", "POST", path, json={"value": value}, headers=headers
    )
    journal.votes.append([uid, ttype, tid, value, _ok(status), status])
    if key not in state.voted_keys:
        state.voted_keys.add(key)
        state.voted_by.setdefault(uid, []).append((ttype, tid, author))
    state.vote[key] = value if _ok(status) else None


async def ws_listener(i, ws_base, token, topics, journal: Journal, deadline):
    url = f"{ws_base}/ws/?token={token}"
    while time.time() < deadline:
        window = [time.time(), None]
        try:
            async with websockets.connect(url, open_timeout=10, close_timeout=2, max_queue=None) as ws:
                for n, topic in enumerate(topics):
                    await ws.send(json.dumps({"type": "subscribe", "topic": topic, "ref": str(n)}))
                journal.ws["connects"] += 1
                journal.ws_windows.append(window)
                while time.time() < deadline:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.time()))
                    except TimeoutError:
                        break
                    now = time.time()
                    msg = json.loads(raw)
                    if msg.get("type") == "event":
                        journal.ws["events"][msg.get("event")] += 1
                        journal.timeline[int(now)][2] += 1
                        if msg.get("event") == "post.created" and msg.get("topic") == "posts":
                            journal.ws_post_created.setdefault(msg["data"]["id"], []).append(now)
                    elif msg.get("type") == "error":
                        journal.ws["errors"] += 1
                window[1] = time.time()
                if time.time() >= deadline:
                    return
        except (OSError, websockets.WebSocketException, TimeoutError):
            pass
        if window[1] is None and window in journal.ws_windows:
            window[1] = time.time()
        journal.ws["disconnects"] += 1
        await asyncio.sleep(1.0)  # reconnect, as a browser client would


async def run_load(*, base, seed, duration, concurrency, sockets, think, run_id) -> Journal:
    journal = Journal(run_id=run_id)
    state = State(seed)
    deadline = time.time() + duration
    users = seed["users"]
    groups = [users[i::concurrency] for i in range(concurrency)]
    ws_base = base.replace("http://", "ws://")
    rng = random.Random(7)
    tasks = [
        asyncio.create_task(http_worker(i, g, base, state, journal, deadline, think)) for i, g in enumerate(groups)
    ]
    for i in range(sockets):
        topics = ["posts", "leaderboard", "market"] + [f"post:{p['id']}" for p in rng.sample(seed["posts"], 3)]
        token = users[(i * 7) % len(users)]["token"]
        tasks.append(asyncio.create_task(ws_listener(i, ws_base, token, topics, journal, deadline + 5)))
    await asyncio.gather(*tasks)
    return journal
