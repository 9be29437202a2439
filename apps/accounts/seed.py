"""Demo accounts for `manage.py seed --demo`."""

from __future__ import annotations

import random

from django.contrib.auth.hashers import make_password
from django.db import transaction

from apps.accounts.models import Profile, User
from apps.core.seeding import DemoContext

DEMO_PASSWORD = "success-kid-demo"
_FIRST = ["moon", "diamond", "gm", "wagmi", "kid", "fist", "pump", "hodl", "based", "lambo", "degen", "alpha"]
_SECOND = ["maxi", "whale", "ape", "builder", "fan", "trader", "og", "chad", "dev", "artist", "cat", "frog"]


def make_demo_users(ctx: DemoContext) -> None:
    rng = random.Random(42)
    password = make_password(DEMO_PASSWORD)
    existing = set(User.objects.filter(username__startswith="demo_").values_list("username", flat=True))
    wanted = [f"demo_{rng.choice(_FIRST)}_{rng.choice(_SECOND)}_{i}" for i in range(ctx.size)]
    batch = []
    for username in ctx.progress(wanted, desc="demo users"):
        if username in existing:
            continue
        batch.append(
            User(username=username, email=f"{username}@demo.successkid.local", email_verified=True, password=password)
        )
    with transaction.atomic():
        created = User.objects.bulk_create(batch, batch_size=1000)
        Profile.objects.bulk_create(
            [Profile(user=u, display_name=u.username.removeprefix("demo_").replace("_", " ").title()) for u in created],
            batch_size=1000,
            ignore_conflicts=True,
        )
    ctx.stdout.write(f"demo users: {len(created)} new (password {DEMO_PASSWORD!r})")
