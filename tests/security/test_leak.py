"""The leak test: nothing from a category a viewer may not read appears anywhere they can look.

One world: a public category, a staff-only one, an admin-only one, a holder-only and a whale-only
one, a public subcategory of the staff-only one, an archived one, and moderated (hidden, pending)
posts in the public one; each with posts, comments, votes, mentions, reports, points and
leaderboard rows. Every secret carries unique marker words (titles, bodies, comments, category
names and slugs) and ids from a range nothing else uses.

Then every GET operation of the OpenAPI schema (walked from the generated schema: a new endpoint
is covered without editing this file), with its path parameters filled from the world (readable
and secret ids alike) and its query parameters varied, and every WebSocket topic of the topic
registry, as anonymous, member, holder, whale, moderator (admins read everything: they are the
positive side of the socket test). A response or frame that holds a marker or a secret id of a
category the viewer may not read fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from apps.accounts.models import Role
from apps.core import access
from apps.forum.models import Category, Comment, ContentStatus, Post, PostTag, ReadAccess, Tag, Vote
from apps.gamification.models import LeaderboardEntry, PointTransaction
from apps.gamification.periods import period_start
from tests.factories import UserFactory

# category key -> (read_access, read_min_tier, parent key, archived); "public" and "attic" are open.
CATEGORIES = {
    "public": ("anyone", "none", None, False),
    "attic": ("anyone", "none", None, True),
    "staff": (ReadAccess.MODERATOR, "none", None, False),
    "annex": ("anyone", "none", "staff", False),  # public itself, under a staff-only parent
    "board": (ReadAccess.ADMIN, "none", None, False),
    "vault": ("anyone", "holder", None, False),
    "pod": ("user", "whale", None, False),
}
VIEWERS = ("anonymous", "member", "holder", "whale", "moderator")
BASE_ID = 7_770_000  # posts, comments and categories of the world: ids no other row reaches


def marker(kind: str, key: str) -> str:
    return f"zq{kind}{key}mark"


@dataclass
class World:
    people: dict
    categories: dict[str, Category]
    posts: dict[str, Post]
    comments: dict[str, Comment]
    secrets: dict[str, set[str]] = field(default_factory=dict)  # secret key -> strings that must not show

    def secret_keys_for(self, viewer_name: str) -> set[str]:
        user = self.people.get(viewer_name)
        hidden = {k for k, c in self.categories.items() if not access.can_read_category(user, c)}
        moderated = set() if viewer_name == "moderator" else {"hidden", "pending"}
        return hidden | moderated


def _ids_as_text(*ids: int) -> set[str]:
    return {str(i) for i in ids}


def build_world() -> World:
    now = timezone.now()
    people = {
        "member": UserFactory(username="leak_member"),
        "holder": UserFactory(username="leak_holder"),
        "whale": UserFactory(username="leak_whale"),
        "moderator": UserFactory(username="leak_mod", role=Role.MODERATOR),
        "admin": UserFactory(username="leak_admin", role=Role.ADMIN),
        "earner": UserFactory(username="leak_earner", date_joined=now - timedelta(days=60)),
    }
    for name in ("holder", "whale"):
        people[name].profile.holder_tier = name
        people[name].profile.save()
    people["anonymous"] = None

    categories: dict[str, Category] = {}
    for n, (key, (read, tier, parent, archived)) in enumerate(CATEGORIES.items()):
        categories[key] = Category.objects.create(
            pk=BASE_ID + n,
            name=f"Room {marker('name', key)}",
            slug=f"zq-{key}-room",
            read_access=read,
            read_min_tier=tier,
            parent=categories.get(parent) if parent else None,
            is_archived=archived,
        )
    posts: dict[str, Post] = {}
    comments: dict[str, Comment] = {}
    earner = people["earner"]
    sources = [(k, c, ContentStatus.PUBLISHED) for k, c in categories.items()]
    sources += [("hidden", categories["public"], ContentStatus.HIDDEN)]
    sources += [("pending", categories["public"], ContentStatus.PENDING)]
    for n, (key, category, status) in enumerate(sources):
        post = Post.objects.create(
            pk=BASE_ID + 100 + n,
            author=earner,
            category=category,
            title=f"Llama news {marker('title', key)}",
            slug=f"llama-news-{marker('slug', key)}",
            body=f"llama body {marker('body', key)} @leak_member",
            body_html=f"<p>llama body {marker('body', key)}</p>",
            excerpt=f"llama body {marker('body', key)}",
            tag_slugs=["llama"],
            status=status,
            created_at=now,
            last_activity_at=now,
            upvotes=1,
            score=1,
        )
        posts[key] = post
        if key in categories:  # a tag used only here (a tag nobody used is public knowledge)
            tag = Tag.objects.create(slug=marker("tag", key), name=marker("tag", key), post_count=1)
            PostTag.objects.create(post=post, tag=tag)
        from apps.forum.services import comment_path

        cid = BASE_ID + 200 + n
        comments[key] = Comment.objects.create(
            id=cid,
            post=post,
            author=earner,
            body=f"llama reply {marker('comment', key)}",
            body_html=f"<p>llama reply {marker('comment', key)}</p>",
            path=comment_path("", cid),
            depth=0,
            status=status,
            created_at=now,
        )
        # Votes cast while the post was readable (access shrinks: a category closed since).
        Vote.objects.create(user=people["member"], post=post, value=1)
        Vote.objects.create(user=people["member"], post=post, comment=comments[key], value=1)
        PointTransaction.objects.create(
            user=earner,
            activity="post_created",
            amount=5,
            source_type="post",
            source_id=str(post.pk),
            category_id=category.pk,
            idempotency_key=f"leak:{key}",
            created_at=now,
            earned_at=now,
        )
        for period in ("all", "day") if key in categories else ():
            LeaderboardEntry.objects.create(
                period=period,
                period_start=period_start(period, now.date()),
                category_id=category.pk,
                user=earner,
                points=5,
                reached_at=now,
            )
        # Mentions go through the notifications receiver (what the forum's UserMentioned event runs).
        from apps.notifications.handlers import on_user_mentioned

        for name in ("member", "holder", "whale", "moderator"):
            on_user_mentioned(people[name].pk, earner.pk, post.pk)
    # Reports by someone who may read them all (moderators review what they may read: not "board").
    from apps.moderation import services as moderation

    for key in ("staff", "annex", "board", "vault", "pod"):
        moderation.report_create(reporter=people["admin"], target_type="post", target_id=posts[key].pk, reason="spam")

    world = World(people=people, categories=categories, posts=posts, comments=comments)
    for key in [*categories, "hidden", "pending"]:
        strings = {marker(kind, key) for kind in ("title", "slug", "body", "comment", "tag")}
        strings |= _ids_as_text(posts[key].pk, comments[key].pk)
        if key in categories:
            strings |= {marker("name", key), categories[key].slug, str(categories[key].pk)}
        world.secrets[key] = strings
    return world


# --- walking the schema -------------------------------------------------------------------------


def _get_operations() -> list[tuple[str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    out = []
    for path, operations in schema["paths"].items():
        if "get" in operations:
            query = [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"]
            out.append((path, query))
    return out


def _path_values(world: World, name: str, viewer) -> list[str]:
    posts = [p.pk for p in world.posts.values()]
    values = {
        "post_id": posts,
        "comment_id": [c.pk for c in world.comments.values()],
        "slug": [c.slug for c in world.categories.values()],
        "user_id": [world.people["earner"].pk, viewer.pk if viewer else world.people["member"].pk],
        "room": ["lobby"],
    }
    return [str(v) for v in values.get(name, [1])]


def _query_variants(world: World, path: str, names: list[str]) -> list[dict]:
    variants: list[dict] = [{}]
    if "q" in names:
        variants = [{"q": "llama"}, {"q": "zqtag"}]
        if "type" in names:
            variants += [{"q": "llama", "type": t} for t in ("comment", "user")]
        if "sort" in names:
            variants += [{"q": "llama", "sort": "new"}]
    if "category" in names:
        base = variants[0]
        variants += [{**base, "category": c.slug} for c in world.categories.values()]
    if "author" in names:
        variants.append({**variants[0], "author": str(world.people["earner"].pk)})
    if "tag" in names:
        variants.append({**variants[0], "tag": "llama"})
    if "period" in names and path.endswith("leaderboard"):
        variants += [{"period": "day"}, *({"period": "day", "category": c.slug} for c in world.categories.values())]
    if "target_type" in names and "target_id" in names:
        variants += [{"target_type": "post", "target_id": str(p.pk)} for p in world.posts.values()]
    return variants


def _expand(path: str, world: World, viewer) -> list[str]:
    paths = [path]
    for name in re.findall(r"{(\w+)}", path):
        paths = [p.replace("{" + name + "}", v) for p in paths for v in _path_values(world, name, viewer)]
    return paths


def _leaks(text: str, secrets: set[str]) -> set[str]:
    found = set()
    for secret in secrets:
        pattern = rf"(?<!\d){secret}(?!\d)" if secret.isdigit() else re.escape(secret)
        if re.search(pattern, text):
            found.add(secret)
    return found


@pytest.mark.django_db
def test_no_response_of_any_get_operation_shows_what_the_viewer_may_not_read(make_client, settings):
    settings.LEADERBOARD_PAGE_CACHE_SECONDS = 0
    world = build_world()
    from apps.search import services as search_services

    search_services.vocabulary_refresh()
    operations = _get_operations()
    assert len(operations) > 30  # the schema was walked, not an empty list
    problems: list[str] = []
    requests = 0
    for name in VIEWERS:
        viewer = world.people[name]
        client = make_client(viewer)
        secrets = set().union(*(world.secrets[k] for k in world.secret_keys_for(name)))
        assert secrets, name
        for path, query_names in operations:
            for url in _expand(path, world, viewer):
                for query in _query_variants(world, path, query_names):
                    response = client.get(url, query)
                    requests += 1
                    if response.status_code >= 500:
                        problems.append(f"{name} GET {url} {query}: {response.status_code}")
                        continue
                    leaked = _leaks(response.content.decode("utf-8", "replace"), secrets)
                    if leaked:
                        problems.append(f"{name} GET {url} {query}: {sorted(leaked)}")
    assert not problems, f"{len(problems)} leaks in {requests} requests:\n" + "\n".join(problems[:60])


# --- every WebSocket topic ---------------------------------------------------------------------


def _topic_args(world: World, viewer) -> dict[str, list[str | None]]:
    return {
        "category": [c.slug for c in world.categories.values()],
        "post": [str(p.pk) for p in world.posts.values()],
        "user": [str(viewer.pk)] if viewer else ["1"],
        "presence": ["lobby"],
    }


@pytest.mark.django_db(transaction=True)
async def test_no_socket_frame_shows_what_the_viewer_may_not_read():
    from apps.forum import services as forum
    from apps.realtime import topics
    from tests.realtime.helpers import open_socket

    @sync_to_async
    def as_system(fn):
        from apps.core import rls

        with rls.system_context("tests:leak-world"):  # a worker thread: the test body's context is not here
            return fn()

    world = await as_system(build_world)
    sockets = {}
    for name in (*VIEWERS, "admin"):
        viewer = world.people[name]
        comm = await open_socket(viewer)
        args = _topic_args(world, viewer)
        early = []
        for topic, spec in topics._topics.items():  # the registry: a new topic is walked too
            for arg in args.get(topic, [None]) if spec.takes_argument else [None]:
                await comm.send_json_to({"type": "subscribe", "topic": f"{topic}:{arg}" if arg else topic})
                while True:  # its answer (presence frames may come first)
                    frame = await comm.receive_from(timeout=5)
                    early.append(frame)
                    if '"type": "subscribed"' in frame or '"type": "error"' in frame:
                        break
        sockets[name] = (comm, early)

    def happen():
        earner, admin = world.people["earner"], world.people["admin"]
        for key, category in world.categories.items():
            post = forum.post_create(
                author=admin, category=category, title=f"Fresh {marker('title', key)}", body=marker("body", key)
            )
            old = world.posts[key]
            old.refresh_from_db()
            if old.status == ContentStatus.PUBLISHED:  # (reports may have auto-hidden it)
                forum.comment_create(author=admin, post_id=old.pk, body=f"more {marker('comment', key)}")
                forum.vote_post(user=admin, post_id=old.pk, value=-1)
            forum.post_update(post_id=old.pk, editor=admin, title=f"Edited {marker('title', key)}")
            forum.post_update(post_id=post.pk, editor=admin, body=f"edited {marker('body', key)}")
        del earner

    await as_system(happen)
    problems = []
    admin_saw = ""
    for name, (comm, frames) in sockets.items():
        while not await comm.receive_nothing(timeout=0.3):
            frames.append(await comm.receive_from())
        text = "\n".join(frames)
        if name == "admin":
            admin_saw = text
        else:
            secrets = set().union(*(world.secrets[k] for k in world.secret_keys_for(name)))
            leaked = _leaks(text, secrets - {str(c.pk) for c in world.categories.values()})
            if leaked:
                problems.append(f"{name}: {sorted(leaked)}")
        await comm.disconnect()
    assert not problems, problems
    for key in CATEGORIES:  # the positive side: the events happened and reached who may read them
        assert marker("title", key) in admin_saw, key
