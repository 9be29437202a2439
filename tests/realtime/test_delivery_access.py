"""Per-event delivery: a post event reaches only the sockets whose viewer may read the post, on
every topic (`posts` carried every new post, title and body, to anyone)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.accounts.models import Role
from apps.forum.models import Category, ReadAccess
from tests.realtime.helpers import make_user, open_socket, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _world():
    staff = Category.objects.create(name="Staff", slug="rt-staff", read_access=ReadAccess.MODERATOR)
    return {
        "public": Category.objects.create(name="Public", slug="rt-public"),
        "staff": staff,
        "annex": Category.objects.create(name="Annex", slug="rt-annex", parent=staff),
        "holders": Category.objects.create(name="Holders", slug="rt-holders", read_min_tier="holder"),
    }


@sync_to_async
def _post(author, category, title):
    from apps.forum import services

    return services.post_create(author=author, category=category, title=title, body=f"{title} body")


@sync_to_async
def _holder():
    from tests.factories import UserFactory

    user = UserFactory()
    user.profile.holder_tier = "holder"
    user.profile.save()
    return user


async def _titles(comm) -> list[str]:
    got = []
    while not await comm.receive_nothing(timeout=0.3):
        frame = await comm.receive_json_from()
        if frame.get("type") == "event":
            got.append(frame["data"]["title"])
    return got


async def test_posts_topic_delivers_each_post_only_to_viewers_who_may_read_it():
    world = await _world()
    author = await make_user(role=Role.ADMIN)
    viewers = {
        "anonymous": await open_socket(),
        "member": await open_socket(await make_user()),
        "holder": await open_socket(await _holder()),
        "moderator": await open_socket(await make_user(role=Role.MODERATOR)),
    }
    for comm in viewers.values():
        assert (await subscribe(comm, "posts"))["type"] == "subscribed"
    category_socket = await open_socket()
    assert (await subscribe(category_socket, "category:rt-annex"))["error"]["code"] == "forbidden"

    for name in ("public", "staff", "annex", "holders"):
        await _post(author, world[name], f"Secret {name} plan")

    seen = {name: await _titles(comm) for name, comm in viewers.items()}
    assert seen["anonymous"] == ["Secret public plan"]
    assert seen["member"] == ["Secret public plan"]
    assert seen["holder"] == ["Secret public plan", "Secret holders plan"]
    assert seen["moderator"] == ["Secret public plan", "Secret staff plan", "Secret annex plan", "Secret holders plan"]
    for comm in [*viewers.values(), category_socket]:
        await comm.disconnect()


async def test_the_rule_is_checked_once_per_viewer_class_not_per_socket(monkeypatch):
    from apps.core import access

    world = await _world()
    author = await make_user(role=Role.ADMIN)
    member = await make_user()
    sockets = [await open_socket() for _ in range(4)] + [await open_socket(member) for _ in range(3)]
    for comm in sockets:
        await subscribe(comm, "posts")
    checks = []
    original = access.Rule.admits
    monkeypatch.setattr(access.Rule, "admits", lambda self, viewer: checks.append(viewer) or original(self, viewer))
    await _post(author, world["public"], "Hello everyone")
    for comm in sockets:
        assert await _titles(comm) == ["Hello everyone"]
    hub_checks = [c for c in checks if c.role != access.ADMIN]  # the admin's own check is the posting
    assert sorted(c.key for c in hub_checks) == sorted(
        {access.ANONYMOUS_CLASS.key, access.ViewerClass(access.USER).key}
    )
    for comm in sockets:
        await comm.disconnect()


@sync_to_async
def _gamification_catalogue():
    from apps.gamification import catalogue, seed

    seed.load_all()  # a transactional test starts from an empty database
    catalogue.clear()


@sync_to_async
def _post_counted(author, category, title):
    """A post, and gamification's reaction to it (what the event relay runs)."""
    from apps.core.events import dispatch
    from apps.forum.events import PostCreated

    post = _post.func(author, category, title)
    dispatch(PostCreated(post_id=post.pk, author_id=author.pk, category_id=category.pk))
    return post


async def _leaderboard_events(comm) -> list[str]:
    got = []
    while not await comm.receive_nothing(timeout=0.3):
        frame = await comm.receive_json_from()
        if frame.get("type") == "event":
            got.append(frame["event"])
    return got


async def test_leaderboard_changes_from_a_restricted_category_reach_only_its_readers():
    """Points earned in a holders-only category move only that category's board: the public
    `leaderboard` topic must not tell everyone the moment someone posts there."""
    await _gamification_catalogue()
    world = await _world()
    anonymous = await open_socket()
    reader = await open_socket(await _holder())
    for comm in (anonymous, reader):
        assert (await subscribe(comm, "leaderboard"))["type"] == "subscribed"

    await _post_counted(await _holder(), world["holders"], "Vault news")
    assert await _leaderboard_events(anonymous) == []
    assert await _leaderboard_events(reader) == ["leaderboard.changed"]

    await _post_counted(await make_user(), world["public"], "Town news")
    assert await _leaderboard_events(anonymous) == ["leaderboard.changed"]
    assert await _leaderboard_events(reader) == ["leaderboard.changed"]
    for comm in (anonymous, reader):
        await comm.disconnect()
    await sync_to_async(catalogue_clear)()


def catalogue_clear():
    from apps.gamification import catalogue

    catalogue.clear()
