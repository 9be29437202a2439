"""The scale-out topology, end to end through HTTP and WebSocket on the load balancer (HAProxy) and
the web nodes behind it: PostgreSQL primary + streaming replica behind PgBouncer (transaction
mode), Redis, two uvicorn nodes, Celery worker and beat (scripts/topology.py; README "Scale-out
topology"). What ran where is read from the servers themselves: pg_stat_statements on the replica
and on the primary, PgBouncer's SHOW STATS / SHOW SERVERS, HAProxy's `show stat`.

Run: `.venv/bin/python scripts/topology.py start && TOPOLOGY=1 make test ARGS="tests/topology"`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.topology.conftest import (
    bearer,
    haproxy_sessions,
    pgbouncer,
    set_replica_delay,
    sql,
    statement_calls,
    wait_replayed,
)

pytestmark = [pytest.mark.topology, pytest.mark.slow]


def _post(base: str, user: dict, category: str = "general", **extra) -> dict:
    tag = uuid.uuid4().hex[:10]
    body = {"category": category, "title": f"Topology {tag}", "body": f"Written through the topology {tag}", **extra}
    r = httpx.post(f"{base}/api/posts", json=body, headers=bearer(user), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def _get(base: str, path: str, user: dict | None = None) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers=bearer(user), timeout=30)


def _ws(base: str, user: dict | None = None) -> str:
    return base.replace("http://", "ws://") + "/ws/" + (f"?token={user['token']}" if user else "")


async def _next_event(ws, event: str, timeout: float = 15) -> dict:
    end = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, end - time.monotonic())))
        if frame.get("type") == "event" and frame["event"] == event:
            return frame


def test_the_load_balancer_sends_requests_to_both_web_nodes_without_stickiness(topo):
    before = haproxy_sessions(topo)
    assert sorted(before) == ["web1", "web2"] and all(status == "UP" for _, status in before.values()), before
    with httpx.Client(base_url=topo["haproxy"], timeout=30) as client:  # one keep-alive client
        for _ in range(10):
            assert client.get("/api/health").status_code == 200
    after = haproxy_sessions(topo)
    served = {node: after[node][0] - before[node][0] for node in after}
    assert all(count >= 4 for count in served.values()), served  # round robin, no affinity


def test_the_web_tier_reaches_postgres_through_pgbouncer(topo):
    # The PgBouncer database the web nodes use for reads is the standby...
    replica_via_bouncer = topo["pgbouncer_url"].rsplit("/", 1)[0] + "/" + topo["pgbouncer_replica_db"]
    in_recovery, port = sql(replica_via_bouncer, "SELECT pg_is_in_recovery(), inet_server_port()")[0]
    assert in_recovery is True and port == int(topo["replica_url"].split(":")[-1].split("/")[0])
    assert sql(topo["pgbouncer_url"], "SELECT pg_is_in_recovery()")[0][0] is False
    # ...and every app-role session on the replica is one of PgBouncer's server connections.
    assert _get(topo["haproxy"], "/api/posts").status_code == 200
    servers = {row["remote_pid"] for row in pgbouncer(topo, "SHOW SERVERS") if row["user"] == topo["app_role"]}
    on_replica = {
        pid
        for (pid,) in sql(
            topo["replica_url"], "SELECT pid FROM pg_stat_activity WHERE usename = %s", (topo["app_role"],)
        )
    }
    assert on_replica and on_replica <= servers, (on_replica, servers)


def test_anonymous_reads_are_served_by_the_replica(topo):
    post_id = topo["seed_data"]["posts"][0]["id"]
    replica_before = statement_calls(topo["replica_url"], "posts")
    stats_before = {r["database"]: r["total_xact_count"] for r in pgbouncer(topo, "SHOW STATS")}
    for _ in range(10):
        r = _get(topo["haproxy"], f"/api/posts/{post_id}")
        assert r.status_code == 200 and r.json()["data"]["id"] == post_id
    assert statement_calls(topo["replica_url"], "posts") - replica_before >= 10
    time.sleep(1.5)  # PgBouncer folds its counters into SHOW STATS about once a second
    stats_after = {r["database"]: r["total_xact_count"] for r in pgbouncer(topo, "SHOW STATS")}
    db = topo["pgbouncer_replica_db"]
    assert stats_after[db] - stats_before[db] >= 10


def test_writes_go_to_the_primary(topo, users):
    author = users[0]
    inserts = statement_calls(topo["primary_url"], "posts", "INSERT")
    post = _post(topo["haproxy"], author)
    assert statement_calls(topo["primary_url"], "posts", "INSERT") == inserts + 1
    assert sql(topo["primary_url"], "SELECT author_id FROM posts WHERE id = %s", (post["id"],)) == [(author["id"],)]
    assert statement_calls(topo["replica_url"], "posts", "INSERT") == 0  # a standby takes no writes
    wait_replayed(topo)
    assert sql(topo["replica_url"], "SELECT count(*) FROM posts WHERE id = %s", (post["id"],)) == [(1,)]


def test_read_your_writes_while_the_replica_is_delayed(topo, users):
    author = users[1]
    set_replica_delay(topo, "6s")
    try:
        time.sleep(1)
        post = _post(topo["haproxy"], author)
        path = f"/api/posts/{post['id']}"
        # Anonymous readers get the replica, which has not applied the post yet...
        replica_reads = statement_calls(topo["replica_url"], "posts")
        assert _get(topo["haproxy"], path).status_code == 404
        assert statement_calls(topo["replica_url"], "posts") > replica_reads
        # ...while the author reads their own write on the next requests, on either node.
        for base in (*topo["web_nodes"], topo["haproxy"]):
            r = _get(base, path, author)
            assert r.status_code == 200 and r.json()["data"]["id"] == post["id"], (base, r.text)
        mine = _get(topo["haproxy"], f"/api/posts?author={author['id']}&sort=new", author)
        assert post["id"] in [p["id"] for p in mine.json()["data"]]
        # Once the delay has passed, everyone sees it.
        end = time.time() + 30
        while _get(topo["haproxy"], path).status_code != 200:
            assert time.time() < end, "the post never reached anonymous readers"
            time.sleep(1)
    finally:
        set_replica_delay(topo, "0")


def test_row_level_security_holds_on_the_replica(topo, users):
    owner, other = users[2], users[3]
    r = httpx.post(
        f"{topo['haproxy']}/api/drafts", json={"title": "topology draft", "body": "private"}, headers=bearer(owner)
    )
    assert r.status_code == 201, r.text
    draft_id = r.json()["data"]["id"]
    wait_replayed(topo)  # the owner's last write is on the replica: their reads may go there

    reads = statement_calls(topo["replica_url"], "drafts")
    mine = _get(topo["haproxy"], "/api/drafts", owner)
    assert mine.status_code == 200 and draft_id in [d["id"] for d in mine.json()["data"]]
    assert statement_calls(topo["replica_url"], "drafts") > reads  # served by the replica, as the owner
    theirs = _get(topo["haproxy"], "/api/drafts", other)
    assert theirs.status_code == 200 and draft_id not in [d["id"] for d in theirs.json()["data"]]
    assert _get(topo["haproxy"], "/api/drafts").status_code == 401

    # The policy itself, on the standby, for the app role the web nodes connect as.
    app_on_replica = topo["replica_url"].replace("postgres://postgres@", f"postgres://{topo['app_role']}@")
    assert sql(app_on_replica, "SELECT count(*) FROM drafts WHERE id = %s", (draft_id,)) == [(0,)]
    with psycopg.connect(app_on_replica) as conn:  # one read-only transaction on the standby
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(owner["id"]),))
        assert conn.execute("SELECT count(*) FROM drafts WHERE id = %s", (draft_id,)).fetchall() == [(1,)]


def test_a_holders_only_category_stays_hidden_on_the_replica(topo, users):
    """A post in the holders' lounge exists on the replica, yet anonymous and non-holder reads served
    there never show it (the access rule's filter runs on the replica like on the primary)."""
    category = "holders-lounge"
    hidden = sql(
        topo["primary_url"],
        "SELECT p.id FROM posts p JOIN categories c ON c.id = p.category_id WHERE c.slug = %s",
        (category,),
    )
    if not hidden:
        pytest.fail("the seed has no holders-lounge post (scripts/topology.py seeds one)")
    post_id = hidden[0][0]
    wait_replayed(topo)
    assert sql(topo["replica_url"], "SELECT count(*) FROM posts WHERE id = %s", (post_id,)) == [(1,)]
    reads = statement_calls(topo["replica_url"], "posts")
    for who in (None, users[4]):
        assert _get(topo["haproxy"], f"/api/posts/{post_id}", who).status_code == 404
        listed = _get(topo["haproxy"], "/api/posts?sort=new&limit=100", who).json()["data"]
        assert post_id not in [p["id"] for p in listed]
    assert statement_calls(topo["replica_url"], "posts") >= reads + 4


async def test_a_socket_on_node_b_receives_a_post_written_through_node_a(topo, users):
    node_a, node_b = topo["web_nodes"][:2]
    author, reader = users[5], users[6]
    async with connect(_ws(node_b, reader)) as on_b, connect(_ws(topo["haproxy"])) as via_lb:
        for ws in (on_b, via_lb):
            await ws.send(json.dumps({"type": "subscribe", "topic": "posts", "ref": "p"}))
        await asyncio.sleep(0.5)  # both subscriptions acknowledged by Redis
        post = await asyncio.to_thread(_post, node_a, author)
        for ws in (on_b, via_lb):
            frame = await _next_event(ws, "post.created")
            while frame["data"].get("post", frame["data"]).get("id") != post["id"]:
                frame = await _next_event(ws, "post.created")


async def test_presence_is_the_same_on_every_node(topo, users):
    alice, bob = users[7], users[8]
    room = f"topo{uuid.uuid4().hex[:10]}"
    topic = f"presence:{room}"
    node_a, node_b = topo["web_nodes"][:2]
    async with connect(_ws(node_b, bob)) as on_b, connect(_ws(node_a, alice)) as on_a:
        await on_b.send(json.dumps({"type": "subscribe", "topic": topic}))
        assert [m["id"] for m in (await _next_event(on_b, "presence.state"))["data"]["members"]] == [bob["id"]]
        await on_a.send(json.dumps({"type": "subscribe", "topic": topic}))
        state = await _next_event(on_a, "presence.state")
        assert {m["id"] for m in state["data"]["members"]} == {alice["id"], bob["id"]}
        joined: list[int] = []
        while alice["id"] not in joined:
            joined = [m["id"] for m in (await _next_event(on_b, "presence.diff"))["data"]["joins"]]
        # The room's members over HTTP, from each node and through the load balancer.
        for base in (node_a, node_b, topo["haproxy"]):
            r = await asyncio.to_thread(_get, base, f"/api/realtime/rooms/{room}/members", alice)
            assert r.status_code == 200, r.text
            assert {m["id"] for m in r.json()["data"]} == {alice["id"], bob["id"]}, base
        # An ephemeral broadcast from node A reaches node B.
        await on_a.send(
            json.dumps({"type": "broadcast", "topic": topic, "event": "chat.message", "data": {"text": "gm"}})
        )
        frame = await _next_event(on_b, "chat.message")
        assert frame["data"] == {"text": "gm"} and frame["from"]["id"] == alice["id"]


def test_rate_limits_are_shared_by_the_web_nodes(topo, users):
    """The account lockout (RL_LOGIN_ACCOUNT, 5 wrong passwords) counted across both nodes: the
    sixth attempt is refused by node B, which has seen only two of the five."""
    target = users[9]
    node_a, node_b = topo["web_nodes"][:2]
    statuses = []
    for attempt in range(6):
        base = node_a if attempt % 2 == 0 else node_b
        r = httpx.post(f"{base}/api/auth/login", json={"login": target["username"], "password": "wrong-password-1"})
        statuses.append(r.status_code)
    assert 429 not in statuses[:5], statuses
    assert statuses[5] == 429, statuses
