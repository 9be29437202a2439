"""Exact checks after a load run: what the database holds against what the client sent.

    python bench/load/check.py --journal var/load/<run>/journal.json --seed var/load/<run>/seed.json

Runs with the same environment as the app (DATABASE_URL of a role that sees every row: the checks
read the whole database). Prints a JSON report; exit status 1 when any check fails.

Rules checked (bench/README.md "Load and fault runs" explains them):
- every acknowledged (2xx) post/comment exists exactly once; an unacknowledged one at most once;
  nothing in the database that the client did not send;
- every vote row equals the client's last acknowledged value, or (only after a failed request)
  one of the values it tried since; posts'/comments' score, upvotes, downvotes and comment_count
  equal what the vote and comment rows imply, and (where the client knows every outcome) what it sent;
- the points ledger per user and activity equals what the catalogue's rules imply for that state
  (the load keeps every user inside the caps, so each award is the full amount); each profile's
  points equal its ledger, and the all-time global leaderboard equals both;
- vote awards and their reversals: one award per transition into an upvote, one reversal per
  transition out of it (exact where every outcome is known);
- notifications: each stored comment told exactly the users the rules name (the parent comment's
  author, else the post's author; never the commenter), once; each stored post's author watches
  its thread once; each user who earned the first-post achievement was told once;
- search: the full-text query of each stored post's title (the search's own query compiler) finds it;
- the outbox drained: no (event, receiver) pair pending or parked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.production")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

POINTS = {"post_created": 10, "first_post_of_day": 5, "comment_created": 2, "post_upvoted": 5, "comment_upvoted": 2}
FIRST_POST_BONUS = 5  # the "first_post" achievement (posts_created >= 1)


def rows(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--journal", required=True)
    ap.add_argument("--seed", required=True)
    a = ap.parse_args()
    j = json.loads(Path(a.journal).read_text())
    seed = json.loads(Path(a.seed).read_text())
    prefix = f"L{j['run_id']}-"
    failures: list[str] = []
    report: dict = {}

    def fail(msg):
        if len(failures) < 50:
            failures.append(msg)
        report["failure_count"] = report.get("failure_count", 0) + 1

    def exactly_once(kind: str, sent: dict, in_db: dict, id_key: str) -> dict:
        """Every acknowledged one exactly once with the id the API returned; an unacknowledged one
        at most once; nothing in the database that the client did not send."""
        for marker in in_db:
            if marker not in sent:
                fail(f"{kind} {marker} in the database was never sent")
        acked = unacked_present = 0
        for marker, rec in sent.items():
            found = in_db.get(marker, [])
            if len(found) > 1:
                fail(f"{kind} {marker} duplicated: {found}")
            if rec["acked"]:
                acked += 1
                if [pk for pk, _ in found] != [rec[id_key]]:
                    fail(f"acknowledged {kind} {marker} (id {rec[id_key]}) found as {found}")
            elif found:
                unacked_present += 1
        return {
            "sent": len(sent),
            "acknowledged": acked,
            "unacknowledged_but_persisted": unacked_present,
            "in_database": sum(len(v) for v in in_db.values()),
        }

    # --- posts ---------------------------------------------------------------------------------
    db_posts = defaultdict(list)
    for pid, title, author in rows("SELECT id, title, author_id FROM posts WHERE title LIKE %s", [f"%{prefix}%"]):
        db_posts[title.split("Load post ", 1)[-1]].append((pid, author))
    report["posts"] = {**exactly_once("post", j["posts"], db_posts, "post_id"), "seed_posts": len(seed["posts"])}

    # --- comments ------------------------------------------------------------------------------
    db_comments = defaultdict(list)
    for cid, body, post_id in rows("SELECT id, body, post_id FROM comments WHERE body LIKE %s", [f"%{prefix}%"]):
        marker = body.split("Comment ", 1)[1].split(":", 1)[0]
        db_comments[marker].append((cid, post_id))
    report["comments"] = exactly_once("comment", j["comments"], db_comments, "comment_id")

    # --- votes: final state per (voter, target) ------------------------------------------------
    db_votes = {}
    for user_id, post_id, comment_id, value in rows("SELECT user_id, post_id, comment_id, value FROM votes"):
        key = (user_id, "comment", comment_id) if comment_id else (user_id, "post", post_id)
        db_votes[key] = value
    seqs = defaultdict(list)
    for voter, ttype, tid, value, ok, _status in j["votes"]:
        seqs[(voter, ttype, tid)].append((value, ok))
    uncertain_keys = 0
    exp_awards = exp_reversals = 0  # transitions into / out of +1 (certain sequences only)
    awards_lo = awards_hi = 0
    kinds = Counter()  # acknowledged votes by what they did to the previous state
    for key, seq in seqs.items():
        allowed = {0}
        known = 0
        certain = True
        ups = downs_from_up = 0
        prev = 0
        for value, ok in seq:
            if ok and prev is not None:
                kinds["retract" if value == 0 else "flip" if prev == -value else "new" if prev == 0 else "same"] += 1
            if ok:
                if value == 1 and prev != 1:
                    ups += 1
                if prev == 1 and value != 1:
                    downs_from_up += 1
                known, allowed, prev = value, {value}, value
            else:
                allowed.add(value)
                certain = False
                prev = None  # unknown: the next acknowledged value tells
        if not certain:
            uncertain_keys += 1
            awards_hi += sum(1 for v, _ in seq if v == 1)
        else:
            exp_awards += ups
            exp_reversals += downs_from_up
            awards_lo += ups
            awards_hi += ups
        got = db_votes.get(key, 0)
        if got not in allowed:
            fail(f"vote {key}: database {got}, client allows {sorted(allowed)} (seq {seq})")
        _ = known
    sent_keys = set(seqs)
    stray = [k for k in db_votes if k not in sent_keys]
    if stray:
        fail(f"{len(stray)} vote rows the client never sent, e.g. {stray[:3]}")
    report["votes"] = {
        "requests": len(j["votes"]),
        "acknowledged": sum(1 for v in j["votes"] if v[4]),
        "voter_target_pairs": len(seqs),
        "pairs_with_unknown_outcome": uncertain_keys,
        "acknowledged_by_effect": dict(kinds),
        "rows_in_database": len(db_votes),
    }

    # --- denormalised counters -----------------------------------------------------------------
    bad = rows(
        """
        SELECT p.id, p.score, p.upvotes, p.downvotes, v.up, v.down FROM posts p
        LEFT JOIN (SELECT post_id, count(*) FILTER (WHERE value = 1) up, count(*) FILTER (WHERE value = -1) down
                   FROM votes WHERE comment_id IS NULL GROUP BY post_id) v ON v.post_id = p.id
        WHERE p.upvotes <> COALESCE(v.up, 0) OR p.downvotes <> COALESCE(v.down, 0)
           OR p.score <> COALESCE(v.up, 0) - COALESCE(v.down, 0)
        """
    )
    for r in bad[:10]:
        fail(f"post counters disagree with vote rows: {r}")
    bad = rows(
        """
        SELECT c.id, c.score, c.upvotes, c.downvotes, v.up, v.down FROM comments c
        LEFT JOIN (SELECT comment_id, count(*) FILTER (WHERE value = 1) up, count(*) FILTER (WHERE value = -1) down
                   FROM votes WHERE comment_id IS NOT NULL GROUP BY comment_id) v ON v.comment_id = c.id
        WHERE c.upvotes <> COALESCE(v.up, 0) OR c.downvotes <> COALESCE(v.down, 0)
           OR c.score <> COALESCE(v.up, 0) - COALESCE(v.down, 0)
        """
    )
    for r in bad[:10]:
        fail(f"comment counters disagree with vote rows: {r}")
    bad = rows(
        """
        SELECT p.id, p.comment_count, count(c.id) FROM posts p
        LEFT JOIN comments c ON c.post_id = p.id AND c.status = 'published'
        GROUP BY p.id HAVING p.comment_count <> count(c.id)
        """
    )
    for r in bad[:10]:
        fail(f"post comment_count disagrees with comment rows: {r}")
    # ... and with what the client sent, where every outcome is known.
    client_score = Counter()
    for (_voter, ttype, tid), seq in seqs.items():
        if all(ok for _, ok in seq) and ttype == "post":
            client_score[tid] += seq[-1][0]
    uncertain_posts = {k[2] for k, s in seqs.items() if k[1] == "post" and not all(ok for _, ok in s)}
    db_score = dict(rows("SELECT id, score FROM posts"))
    checked_posts = 0
    for pid, score in db_score.items():
        if pid in uncertain_posts:
            continue
        checked_posts += 1
        if score != client_score.get(pid, 0):
            fail(f"post {pid}: score {score}, the client's acknowledged votes say {client_score.get(pid, 0)}")
    report["counters"] = {
        "posts_score_checked_against_client": checked_posts,
        "posts_with_unknown": len(uncertain_posts),
    }

    # --- points --------------------------------------------------------------------------------
    users = {u["id"] for u in seed["users"]} | {u["id"] for u in seed["authors"]}
    posts_by = Counter(dict(rows("SELECT author_id, count(*) FROM posts WHERE status = 'published' GROUP BY 1")))
    comments_by = Counter(dict(rows("SELECT author_id, count(*) FROM comments WHERE status = 'published' GROUP BY 1")))
    up_posts = Counter(
        dict(
            rows(
                "SELECT p.author_id, count(*) FROM votes v JOIN posts p ON p.id = v.post_id"
                " WHERE v.comment_id IS NULL AND v.value = 1 AND v.user_id <> p.author_id GROUP BY 1"
            )
        )
    )
    up_comments = Counter(
        dict(
            rows(
                "SELECT c.author_id, count(*) FROM votes v JOIN comments c ON c.id = v.comment_id"
                " WHERE v.value = 1 AND v.user_id <> c.author_id GROUP BY 1"
            )
        )
    )
    # Who surely acted (an acknowledged request) and who may have (a failed one): the daily visit.
    surely, maybe = set(), set()
    for rec in list(j["posts"].values()) + list(j["comments"].values()):
        (surely if rec["acked"] else maybe).add(rec["author_id"])
    for voter, _t, _i, _v, ok, _s in j["votes"]:
        (surely if ok else maybe).add(voter)
    surely |= {a["id"] for a in seed["authors"]}
    ledger = defaultdict(Counter)
    for user_id, activity, amount in rows(
        "SELECT user_id, activity, sum(amount) FROM point_transactions GROUP BY 1, 2"
    ):
        ledger[user_id][activity] = int(amount)
    mismatched_users = 0
    for uid in users:
        exp = Counter()
        n_posts = posts_by.get(uid, 0)
        exp["post_created"] = POINTS["post_created"] * n_posts
        exp["first_post_of_day"] = POINTS["first_post_of_day"] * (n_posts > 0)
        exp["achievement_unlocked"] = FIRST_POST_BONUS * (n_posts > 0)
        exp["comment_created"] = POINTS["comment_created"] * comments_by.get(uid, 0)
        exp["post_upvoted"] = POINTS["post_upvoted"] * up_posts.get(uid, 0)
        exp["comment_upvoted"] = POINTS["comment_upvoted"] * up_comments.get(uid, 0)
        got = ledger.get(uid, Counter())
        visit = got.get("daily_visit", 0)
        if uid in surely and visit != 1 or uid not in surely | maybe and visit != 0 or visit not in (0, 1):
            fail(f"user {uid}: daily_visit {visit} (acted: {uid in surely}, maybe: {uid in maybe})")
        diff = {k: (got.get(k, 0), v) for k, v in exp.items() if got.get(k, 0) != v}
        extra = {k: v for k, v in got.items() if k not in exp and k != "daily_visit" and v}
        if diff or extra:
            mismatched_users += 1
            fail(f"user {uid}: ledger (got, expected) {diff} unexpected {extra}")
    report["points"] = {
        "users": len(users),
        "users_mismatched": mismatched_users,
        "ledger_total": sum(sum(c.values()) for c in ledger.values()),
        "by_activity": dict(sum((c for c in ledger.values()), Counter())),
    }
    bad = rows(
        """
        SELECT pr.user_id, pr.points, COALESCE(t.s, 0) FROM profiles pr
        LEFT JOIN (SELECT user_id, sum(amount) s FROM point_transactions GROUP BY 1) t ON t.user_id = pr.user_id
        WHERE pr.points <> COALESCE(t.s, 0)
        """
    )
    for r in bad[:10]:
        fail(f"profile points disagree with the ledger: {r}")
    bad = rows(
        """
        SELECT pr.user_id, pr.points, l.points FROM profiles pr
        LEFT JOIN leaderboards l ON l.user_id = pr.user_id AND l.period = 'all' AND l.category_id = 0
        WHERE pr.points <> COALESCE(l.points, 0)
        """
    )
    for r in bad[:10]:
        fail(f"all-time leaderboard disagrees with profile points: {r}")
    awards, reversals = rows(
        "SELECT count(*) FILTER (WHERE kind = 'award'), count(*) FILTER (WHERE kind = 'reversal')"
        " FROM point_transactions WHERE activity IN ('post_upvoted', 'comment_upvoted')"
    )[0]
    report["vote_awards"] = {
        "awards": awards,
        "reversals": reversals,
        "expected_awards_known_pairs": exp_awards,
        "expected_reversals_known_pairs": exp_reversals,
    }
    if uncertain_keys == 0 and (awards, reversals) != (exp_awards, exp_reversals):
        fail(f"vote awards/reversals {awards}/{reversals}, expected {exp_awards}/{exp_reversals}")
    elif not (awards_lo <= awards <= awards_hi):
        fail(f"vote awards {awards} outside [{awards_lo}, {awards_hi}]")
    dupes = rows("SELECT idempotency_key, count(*) FROM point_transactions GROUP BY 1 HAVING count(*) > 1")
    if dupes:
        fail(f"duplicated ledger keys: {dupes[:5]}")
    # --- notifications: one per notifiable event ---------------------------------------------
    stored_comments = rows(
        "SELECT c.id, c.author_id, p.author_id, pc.author_id FROM comments c JOIN posts p ON p.id = c.post_id"
        " LEFT JOIN comments pc ON pc.id = c.parent_id WHERE c.body LIKE %s AND c.status = 'published'",
        [f"%{prefix}%"],
    )
    told = defaultdict(list)
    for user_id, key in rows(
        "SELECT user_id, dedupe_key FROM notifications WHERE type IN ('reply_to_post', 'reply_to_comment')"
    ):
        told[key].append(user_id)
    expected_replies = 0
    for cid, commenter, post_author, parent_author in stored_comments:
        expected = []
        if parent_author is not None and parent_author != commenter:
            expected.append(parent_author)
        if post_author != commenter and post_author not in expected:
            expected.append(post_author)
        expected_replies += len(expected)
        if sorted(told.get(f"comment:{cid}", [])) != sorted(expected):
            fail(f"comment {cid}: reply notifications to {told.get(f'comment:{cid}', [])}, expected {expected}")
    stored_post_ids = [pid for found in db_posts.values() for pid, _ in found]
    unwatched = rows(
        "SELECT p.id FROM posts p WHERE p.id = ANY(%s) AND (SELECT count(*) FROM subscriptions w"
        " WHERE w.user_id = p.author_id AND w.target_type = 'thread' AND w.target_id = p.id) <> 1",
        [stored_post_ids],
    )
    for (pid,) in unwatched[:10]:
        fail(f"post {pid}: its author does not watch its thread exactly once")
    achievers = {uid for (uid,) in rows("SELECT user_id FROM user_achievements")}
    achievement_told = Counter(
        uid for (uid,) in rows("SELECT user_id FROM notifications WHERE type = 'achievement_unlocked'")
    )
    for uid in achievers | set(achievement_told):
        if achievement_told.get(uid, 0) != (uid in achievers):
            fail(f"user {uid}: {achievement_told.get(uid, 0)} achievement notifications, earned: {uid in achievers}")
    report["notifications"] = {
        "reply_notifications_expected": expected_replies,
        "threads_watched_checked": len(stored_post_ids),
        "achievement_notifications": sum(achievement_told.values()),
    }

    # --- search finds every stored post ---------------------------------------------------------
    from apps.search.query import parse
    from apps.search.selectors.common import compile_query

    not_found = []
    for pid, title in rows("SELECT id, title FROM posts WHERE id = ANY(%s)", [stored_post_ids]):
        compiled = compile_query(parse(title))
        if compiled is None or not rows(
            "SELECT 1 FROM posts WHERE id = %s AND search_vector @@ %s::tsquery", [pid, compiled[0]]
        ):
            not_found.append(pid)
    for pid in not_found[:10]:
        fail(f"post {pid}: the search for its title does not find it")
    report["search"] = {"posts_searched": len(stored_post_ids), "not_found": len(not_found)}

    # --- the outbox drained ---------------------------------------------------------------------
    pending, parked = rows(
        "SELECT count(*) FILTER (WHERE parked_at IS NULL), count(*) FILTER (WHERE parked_at IS NOT NULL)"
        " FROM outbox_deliveries WHERE done_at IS NULL"
    )[0]
    if pending or parked:
        fail(f"outbox not drained: {pending} pairs pending, {parked} parked")
    report["outbox"] = {
        "events": rows("SELECT count(*) FROM outbox_events")[0][0],
        "pending": pending,
        "parked": parked,
        "delivery_attempts_over_one": rows("SELECT count(*) FROM outbox_deliveries WHERE attempts > 1")[0][0],
    }

    report["failures"] = failures
    report["ok"] = not failures
    print(json.dumps(report, indent=2, default=str))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
