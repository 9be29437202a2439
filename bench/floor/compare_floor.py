"""Checks that the floor app returns the same rows (ids, keys, values) as the project for each case.

Origin: the lead's compare script (shared/bench/floor/compare_floor.py, 2026-12-05), copied here,
given the two addresses as arguments and extended with the signed-in cases (`my_vote`).

    .venv/bin/python bench/floor/compare_floor.py [PROJECT_URL FLOOR_URL [ACCESS_TOKEN]]

Defaults: the project on :8794 (as `bench/forum/bench.py run` starts it), the floor on :8796.
Exit status 0 when every case returns the same ids and keys (differing values are listed).
"""

from __future__ import annotations

import sys

import httpx


def walk_to_page(client, base: str, pages: int, headers=None) -> str | None:
    cursor = None
    for _ in range(pages - 1):
        r = client.get(base + "/api/posts?sort=hot" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        cursor = r.json()["meta"]["pagination"]["next_cursor"]
    return cursor


def compare(project: str, floor: str, token: str | None = None, *, expect_votes: bool = False, out=print) -> bool:
    """expect_votes: a signed-in page must show the viewer's votes both ways (+1 and -1), or the
    `my_vote` values compared are only zeros (run.py gives the viewer such votes first)."""
    signed_in = {"Authorization": f"Bearer {token}"} if token else None
    with httpx.Client(timeout=30) as c:
        big = c.get(project + "/api/posts?sort=new&limit=1").json()["data"][0]["id"]
        pc, fc = walk_to_page(c, project, 50), walk_to_page(c, floor, 50)
        thread = f"/api/posts/{big}/comments?sort=old&limit=100"
        cases = [
            ("hot p1", "/api/posts?sort=hot&limit=20", "/api/posts?sort=hot&limit=20", None),
            ("hot p50", f"/api/posts?sort=hot&cursor={pc}", f"/api/posts?sort=hot&cursor={fc}", None),
            ("new memes", "/api/posts?sort=new&category=memes", "/api/posts?sort=new&category=memes", None),
            ("thread old", thread, thread, None),
            ("categories", "/api/categories", "/api/categories", None),
            ("health", "/api/health", "/health", None),
        ]
        if signed_in:
            cases += [
                ("signed-in hot p1", "/api/posts?sort=hot", "/api/posts?sort=hot", signed_in),
                ("signed-in thread old", thread, thread, signed_in),
            ]
        ok = True
        for name, pu, fu, headers in cases:
            a, b = c.get(project + pu, headers=headers), c.get(floor + fu, headers=headers)
            if a.status_code != 200 or b.status_code != 200:
                out(f"{name}: status {a.status_code}/{b.status_code}")
                ok = False
                continue
            da, db = a.json()["data"], b.json()["data"]
            if isinstance(da, list):
                ids_same = [x["id"] for x in da] == [x["id"] for x in db]
                keys_same = len(da) == len(db) and all(set(x) == set(y) for x, y in zip(da, db, strict=False))
                diffs = sorted({k for x, y in zip(da, db, strict=False) for k in x if k in y and x[k] != y[k]})
                up = sum(1 for x in da if x.get("my_vote") == 1)
                down = sum(1 for x in da if x.get("my_vote") == -1)
            else:
                ids_same, keys_same, diffs, up, down = da == db, True, [], 0, 0
            extra = f" my_vote +1: {up} rows, -1: {down} rows" if headers else ""
            if headers and expect_votes and not (up and down):
                out(f"{name}: the viewer has no votes both ways on this page: my_vote is not exercised")
                ok = False
            out(
                f"{name}: rows {len(da)}/{len(db)} ids_same={ids_same} keys_same={keys_same} "
                f"differing_values={diffs}{extra} bytes {len(a.content)}/{len(b.content)}"
            )
            ok &= ids_same and keys_same
    return ok


if __name__ == "__main__":
    args = sys.argv[1:]
    project_url = args[0] if args else "http://127.0.0.1:8794"
    floor_url = args[1] if len(args) > 1 else "http://127.0.0.1:8796"
    sys.exit(0 if compare(project_url, floor_url, args[2] if len(args) > 2 else None) else 1)
