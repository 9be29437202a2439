"""Reference categories and tags from fixtures/ (idempotent upserts) and the demo forum."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.core.seeding import DemoContext
from apps.forum import jobs
from apps.forum.models import Category, Comment, Post, PostRevision, PostTag, Tag, Vote
from apps.forum.rendering import render

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
_CATEGORY_FIELDS = (
    "name",
    "description",
    "color",
    "position",
    "read_access",
    "post_access",
    "read_min_tier",
    "post_min_tier",
)


def load_categories(path: Path | None = None) -> int:
    rows = json.loads((path or FIXTURES / "forum_categories.json").read_text())
    count = 0
    # parents first, so a subcategory finds its parent
    for row in sorted(rows, key=lambda r: bool(r.get("parent"))):
        defaults = {k: row[k] for k in _CATEGORY_FIELDS if k in row}
        defaults["parent"] = Category.objects.get(slug=row["parent"]) if row.get("parent") else None
        _, created = Category.objects.update_or_create(slug=row["slug"], defaults=defaults)
        count += 1
    return count


def load_tags(path: Path | None = None) -> int:
    slugs = json.loads((path or FIXTURES / "forum_tags.json").read_text())
    Tag.objects.bulk_create([Tag(slug=s, name=s) for s in slugs], ignore_conflicts=True)
    return len(slugs)


# --- demo ------------------------------------------------------------------------------------------

_TITLES = [
    "GM {name}, what are we building today?",
    "Success Kid just hit a new {thing}",
    "My first {thing} with the fist clenched",
    "Is {thing} the next milestone?",
    "Daily thread: {thing} edition",
    "Made a bot that tracks the {thing}",
    "Unpopular opinion about the {thing}",
    "Weekly {thing} recap",
    "Who else remembers the original {thing}?",
    "Guide: how to verify your wallet for the {thing}",
]
_THINGS = [
    "meme",
    "chart",
    "market cap",
    "holder count",
    "sandcastle",
    "dex listing",
    "airdrop",
    "leaderboard",
    "price",
]
_SENTENCES = [
    "The fist clench never gets old.",
    "Charts look **strong** this week, but remember it is a meme coin.",
    "I made an edit of the original photo, thoughts?",
    "Liquidity keeps growing on the main pool.",
    "Please read the [guide](https://example.com/guide) before asking.",
    "`gm` to everyone holding since day one.",
    "Not financial advice, just vibes.",
    "Who is going to the next community call?",
    "The leaderboard is heating up.",
    "> Success is a state of mind.",
]
_REPLIES = ["This!", "Great post.", "Source?", "Fist clenched 👊", "Disagree, but respect.", "lol", "Bookmarked.", "gm"]


def _allocate_ids(table: str, n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n])  # noqa: S608
        return [r[0] for r in cursor.fetchall()]


def _member_categories() -> list[Category]:
    """Where any member may read and post: demo content never lands in a closed category."""
    from apps.core import access

    member = access.ViewerClass(access.USER)
    return [
        c
        for c in Category.objects.select_related("parent").order_by("position", "id")
        if access.category_rule(c, c.parent).admits(member)
        and c.post_access == "user"
        and access.tier_rank(c.post_min_tier) == 0
        and not c.is_archived
    ]


def make_demo_forum(ctx: DemoContext) -> None:
    """Roughly 3 posts, 20 comments and 60 votes per demo user, spread over 30 days, in time order."""
    rng = random.Random(4)
    users = list(User.objects.filter(username__startswith="demo_").order_by("id")[: max(ctx.size, 1) * 2])
    if len(users) < 2:
        ctx.stdout.write("demo forum: needs demo users; skipped")
        return
    categories = _member_categories()
    if not categories:
        load_categories()
        categories = _member_categories()
    tags = list(Tag.objects.all()) or (load_tags() and list(Tag.objects.all()))
    if Post.objects.filter(author__in=users).exists():
        ctx.stdout.write("demo forum: demo posts already exist; skipped")
        return
    now = timezone.now()
    n_posts = max(10, ctx.size * 3)
    times = sorted(now - timedelta(seconds=rng.uniform(0, 30 * 86400)) for _ in range(n_posts))
    posts: list[Post] = []
    for created in ctx.progress(times, desc="demo posts"):
        thing = rng.choice(_THINGS)
        title = rng.choice(_TITLES).format(name=rng.choice(users).username.split("_")[1], thing=thing)
        body = "\n\n".join(rng.sample(_SENTENCES, rng.randint(1, 4)))
        if rng.random() < 0.3:
            body += f"\n\ncc @{rng.choice(users).username}"
        r = render(body)
        chosen = rng.sample(tags, rng.randint(0, min(3, len(tags))))
        posts.append(
            Post(
                author=rng.choice(users),
                category=rng.choice(categories),
                title=title,
                slug=slugify(title)[:120],
                body=body,
                body_html=r.html,
                excerpt=r.excerpt,
                tag_slugs=[t.slug for t in chosen],
                created_at=created,
                last_activity_at=created,
            )
        )
    with transaction.atomic():
        Post.objects.bulk_create(posts, batch_size=1000)
        tag_by_slug = {t.slug: t for t in tags}
        PostTag.objects.bulk_create(
            [PostTag(post=p, tag=tag_by_slug[s]) for p in posts for s in p.tag_slugs], batch_size=2000
        )
        PostRevision.objects.bulk_create(
            [
                PostRevision(
                    post=p, number=1, editor=p.author, title=p.title, body=p.body, tag_slugs=p.tag_slugs,
                    category=p.category, created_at=p.created_at,
                )
                for p in posts
            ],
            batch_size=1000,
        )  # fmt: skip

    comments: list[Comment] = []
    votes: list[Vote] = []
    for post in ctx.progress(posts, desc="demo threads"):
        n_comments = min(int(rng.expovariate(1 / 7)), 60)
        ids = _allocate_ids("comments", n_comments) if n_comments else []
        thread: list[Comment] = []
        t = post.created_at
        for cid in ids:
            t = min(now, t + timedelta(seconds=rng.uniform(30, 6 * 3600)))
            parent = rng.choice(thread) if thread and rng.random() < 0.6 else None
            if parent is not None and parent.depth >= settings.FORUM_COMMENT_MAX_DEPTH:
                parent = None
            body = rng.choice(_REPLIES) if rng.random() < 0.5 else rng.choice(_SENTENCES)
            c = Comment(
                id=cid,
                post=post,
                parent=parent,
                author=rng.choice(users),
                depth=parent.depth + 1 if parent else 0,
                path=f"{parent.path if parent else ''}{cid:010d}.",
                body=body,
                body_html=render(body).html,
                created_at=t,
            )
            thread.append(c)
        comments.extend(thread)
        # votes: a share of users vote on the post and on some comments (never on their own)
        voters = rng.sample(users, min(len(users), int(rng.expovariate(1 / 12)) + 1))
        for voter in voters:
            if voter.pk != post.author_id:
                value = 1 if rng.random() < 0.8 else -1
                when = post.created_at + (now - post.created_at) * rng.random() ** 3
                votes.append(Vote(user=voter, post=post, value=value, created_at=when, updated_at=when))
            for c in thread:
                if c.author_id != voter.pk and rng.random() < 0.15:
                    value = 1 if rng.random() < 0.75 else -1
                    votes.append(
                        Vote(
                            user=voter,
                            post=post,
                            comment=c,
                            value=value,
                            created_at=c.created_at,
                            updated_at=c.created_at,
                        )
                    )
    with transaction.atomic():
        Comment.objects.bulk_create(comments, batch_size=2000)
        Vote.objects.bulk_create(votes, batch_size=5000, ignore_conflicts=True)
        jobs.recount_all()
    jobs.refresh_trending()
    ctx.stdout.write(f"demo forum: {len(posts)} posts, {len(comments)} comments, {len(votes)} votes")
