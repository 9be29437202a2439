"""Seed for the load runs (run by bench/load/run.py as the database owner, before the app starts).

Creates the reference data (`manage.py seed`), LOAD users and SEED authors (joined 10 days ago, email
verified: old and verified enough for every gamification rule to pay in full, see bench/README.md),
a few posts by the seed authors through the forum service (so they are real posts with their
points), an access token per load user (a real session, like a login) and one market snapshot from
a minute ago. Writes everything the client needs to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.production")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.accounts.tokens import issue_token_pair  # noqa: E402
from apps.forum import services as forum  # noqa: E402
from apps.forum.models import Category  # noqa: E402

# Public categories anyone may post in (the others need a role or a holder tier).
CATEGORIES = ["general", "memes", "market-talk", "price-predictions", "dev-and-tools", "feedback"]


def make_user(name: str, joined) -> User:
    user = User.objects.create_user(username=name, email=f"{name}@load.example", password=None)
    User.objects.filter(pk=user.pk).update(email_verified=True, date_joined=joined)
    user.refresh_from_db()
    return user


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=150)
    ap.add_argument("--authors", type=int, default=20)
    ap.add_argument("--posts-per-author", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    call_command("seed", verbosity=0)
    joined = timezone.now() - timedelta(days=10)
    cats = list(Category.objects.filter(slug__in=CATEGORIES).order_by("slug"))
    authors = [make_user(f"seed{i:03d}", joined) for i in range(a.authors)]
    posts = []
    for i, author in enumerate(authors):
        for j in range(a.posts_per_author):
            cat = cats[(i + j) % len(cats)]
            p = forum.post_create(
                author=author,
                category=cat,
                title=f"Seed post {i}-{j}",
                body=f"Seed body {i}-{j}: what made you smile today? ({author.username})",
            )
            posts.append({"id": p.id, "author_id": author.id, "category": cat.slug})
    users = []
    for i in range(a.users):
        u = make_user(f"load{i:04d}", joined)
        users.append({"id": u.id, "username": u.username, "token": issue_token_pair(u)["access"]})
    # A price from a minute ago, so "stale" has something to be stale about if every source is down.
    from apps.market.models import MarketSnapshot

    minute_ago = timezone.now() - timedelta(minutes=1)
    MarketSnapshot.objects.create(
        taken_at=minute_ago,
        as_of=minute_ago,
        source="dexscreener",
        price_usd=Decimal("0.0123"),
        market_cap_usd=Decimal("12300000"),
    )
    Path(a.out).write_text(
        json.dumps(
            {
                "users": users,
                "authors": [{"id": u.id, "username": u.username} for u in authors],
                "posts": posts,
                "categories": [c.slug for c in cats],
            }
        )
    )
    print(f"seeded {len(users)} users, {len(authors)} authors, {len(posts)} posts -> {a.out}")


if __name__ == "__main__":
    main()
