"""Demo queue for `manage.py seed --demo`: reports on some demo posts and comments (through the
report service, so scores, auto-hide and the audit log are real), a few watched words, and a demo
moderator who can log in to the admin."""

from __future__ import annotations

import random

from django.contrib.auth.hashers import make_password

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.seeding import DemoContext
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation import services
from apps.moderation.models import Reviewable, WatchedWord

DEMO_MODERATOR = "demo_moderator"
DEMO_PASSWORD = "success-kid-demo"
NOTES = ["", "", "looks like a scam link", "off-topic again", "rude to newcomers", "same post in 5 categories"]


def make_demo_moderation(ctx: DemoContext) -> None:
    rng = random.Random(5)
    moderator, _ = User.objects.get_or_create(
        username=DEMO_MODERATOR,
        defaults={
            "email": f"{DEMO_MODERATOR}@demo.successkid.local",
            "email_verified": True,
            "role": "moderator",
            "is_staff": True,
            "password": make_password(DEMO_PASSWORD),
        },
    )
    for word, action in (("rugpull", "flag"), ("seed phrase", "block"), ("free airdrop", "require_approval")):
        if not WatchedWord.objects.filter(word=word).exists():
            services.watched_word_add(actor=moderator, word=word, action=action)
    if Reviewable.objects.exists():
        ctx.stdout.write("demo moderation: queue already has items")
        return
    reporters = list(User.objects.filter(username__startswith="demo_", is_active=True).exclude(pk=moderator.pk)[:200])
    posts = list(Post.objects.filter(status=ContentStatus.PUBLISHED).order_by("?")[: max(ctx.size // 4, 5)])
    comments = list(Comment.objects.filter(status=ContentStatus.PUBLISHED).order_by("?")[: max(ctx.size // 4, 5)])
    if not reporters or not (posts or comments):
        ctx.stdout.write("demo moderation: no demo users or content to report")
        return
    made = 0
    targets = [("post", p.pk) for p in posts] + [("comment", c.pk) for c in comments]
    for target_type, target_id in ctx.progress(targets, desc="demo reports"):
        for reporter in rng.sample(reporters, k=min(len(reporters), rng.choice([1, 1, 2, 3, 5]))):
            try:
                services.report_create(
                    reporter=reporter,
                    target_type=target_type,
                    target_id=target_id,
                    reason=rng.choice(["spam", "spam", "abuse", "off-topic", "scam", "other"]),
                    note=rng.choice(NOTES),
                )
                made += 1
            except ApplicationError:
                continue  # own content, rate limit: skip
    ctx.stdout.write(f"demo moderation: {made} reports; moderator {DEMO_MODERATOR!r} / {DEMO_PASSWORD!r}")
