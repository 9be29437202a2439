#!/usr/bin/env python
"""EXPLAIN (ANALYZE, BUFFERS) of the SQL the search and suggest endpoints run, against the bench
database. The statements are captured from the real selectors (not copied by hand), then explained.

    python bench/search/explain.py > bench/search/plans.txt
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sk_search_bench")
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
os.environ["SEARCH_CACHE_SECONDS"] = "0"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import connection  # noqa: E402

from apps.search import selectors  # noqa: E402
from apps.search.query import parse  # noqa: E402

CASES = [
    ("search: most common word", lambda: _search("ability")),
    ("search: two words", lambda: _search("staking rewards")),
    ("search: ticker", lambda: _search("$SKID")),
    ("search: comments", lambda: _search("moon", type="comment")),
    ("search: sort=top", lambda: _search("whale", sort="top")),
    ("search: relaxed to OR", lambda: _search("comunity roadmap")),
    ("related: post 99999", lambda: selectors.related_posts(viewer=AnonymousUser(), post_id=99999, limit=5)),
    ("suggest: 'stak'", lambda: selectors.suggest(viewer=AnonymousUser(), raw="stak")),
    ("suggest: 'success ki'", lambda: selectors.suggest(viewer=AnonymousUser(), raw="success ki")),
]


def _search(q: str, **kw):
    return selectors.search(
        viewer=AnonymousUser(), parsed=parse(q), filters=selectors.SearchFilters(**kw), page=1, limit=20
    )


def main() -> None:
    for title, call in CASES:
        captured: list[tuple[str, object]] = []

        def wrapper(execute, sql, params, many, context, captured=captured):
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            call()
        print(f"\n######## {title}")
        for sql, params in captured:
            if "set_config" in sql or not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                continue
            if any(skip in sql for skip in ('FROM "categories"', "querytree", "core_cache", "pg_type")):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"--- {' '.join(sql.split())[:160]}...\n{plan}\n")


if __name__ == "__main__":
    main()
