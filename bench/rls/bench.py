"""Row-level security overhead on a hot read: GET /api/posts (anonymous and signed in) and
GET /api/notifications (signed in), in-process through Django's full stack (middleware, DRF,
renderer), against a real PostgreSQL.

    before: the owner's connection (superuser: policies bypassed), no request transaction, no
            set_config: the platform as it was before RLS
    after:  the app role, ATOMIC_REQUESTS, one set_config per authenticated request, FORCE RLS

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sk_rls DATABASE_APP_USER=successkid_app \\
      .venv/bin/python bench/rls/bench.py        # expects migrate + create_db_roles + seed --demo
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
os.environ.setdefault("DB_POOL", "0")
os.environ["THROTTLE_USER_READ"] = os.environ["THROTTLE_ANON_READ"] = "1000000/min"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.accounts.tokens import issue_token_pair  # noqa: E402
from apps.core import rls  # noqa: E402

N = int(os.environ.get("BENCH_N", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))


def use(user: str, password: str, atomic: bool) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict.update(USER=user, PASSWORD=password, ATOMIC_REQUESTS=atomic)


def timed(client: APIClient, path: str) -> list[float]:
    for _ in range(20):
        assert client.get(path).status_code == 200
    out = []
    for _ in range(N):
        t = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:200]
    return out


def main() -> None:
    owner = settings.DATABASE_OWNER
    use(owner["USER"], owner["PASSWORD"], True)
    with rls.system_context("bench"):
        user = User.objects.filter(is_active=True).order_by("id").first()
        token = issue_token_pair(user)["access"]
    anon, signed = APIClient(), APIClient()
    signed.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    cases = [
        ("GET /api/posts anonymous", anon, "/api/posts"),
        ("GET /api/posts signed in", signed, "/api/posts"),
        ("GET /api/notifications signed in", signed, "/api/notifications"),
    ]
    print(f"{N * ROUNDS} requests per case and side (in {ROUNDS} alternating rounds), median / p95 ms")
    original_set_user = rls.set_user
    for label, client, path in cases:
        before, after = [], []
        for _round in range(ROUNDS):  # alternate, so drift on a shared machine hits both sides
            rls.set_user = lambda *_a, **_k: None  # before: no context to set
            use(owner["USER"], owner["PASSWORD"], False)
            before += timed(client, path)
            rls.set_user = original_set_user
            use(settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD, True)
            after += timed(client, path)
        q = statistics.quantiles
        print(
            f"| {label} | {statistics.median(before):.2f} / {q(before, n=20)[18]:.2f} "
            f"| {statistics.median(after):.2f} / {q(after, n=20)[18]:.2f} |"
        )


if __name__ == "__main__":
    main()
