"""A socket's standing follows its user: a role or holder tier granted or taken away changes what the
open socket receives at once, without reconnecting or re-subscribing (before, the viewer class was
read only on subscribe and `auth`, so a demoted moderator kept receiving staff-only posts)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.accounts.models import Role
from apps.forum.models import Category, ReadAccess
from tests.realtime.helpers import make_user, open_socket, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _category(slug, **rules):
    return Category.objects.create(name=slug.title(), slug=slug, **rules)


@sync_to_async
def _post(author, category, title):
    from apps.forum import services

    return services.post_create(author=author, category=category, title=title, body=f"{title} body")


@sync_to_async
def _assign_role(user, role, by):
    from apps.accounts.services import role_assign

    role_assign(user=user, role=role, by=by, reason="test")


@sync_to_async
def _holder():
    from apps.wallet.models import HolderStatus
    from tests.factories import UserFactory

    user = UserFactory()
    HolderStatus.objects.create(user=user, tier="holder")
    user.profile.holder_tier = "holder"
    user.profile.save()
    return user


@sync_to_async
def _lose_tier(user):
    from apps.wallet.services import holder_tier_recompute

    # No verified wallet holds anything: the tier drops (immediately, no grace period).
    return holder_tier_recompute(user_id=user.pk, immediate=True).tier


async def _frames(comm) -> list[dict]:
    got = []
    while not await comm.receive_nothing(timeout=0.4):
        got.append(await comm.receive_json_from())
    return got


def _titles(frames) -> list[str]:
    return [f["data"]["title"] for f in frames if f.get("type") == "event" and "title" in f.get("data", {})]


async def test_a_demoted_moderator_stops_receiving_staff_posts_on_the_open_socket():
    staff = await _category("rs-staff", read_access=ReadAccess.MODERATOR)
    admin = await make_user(role=Role.ADMIN)
    moderator = await make_user(role=Role.MODERATOR)
    comm = await open_socket(moderator)
    assert (await subscribe(comm, "posts"))["type"] == "subscribed"
    assert (await subscribe(comm, "category:rs-staff", ref="c"))["type"] == "subscribed"

    await _post(admin, staff, "Before demotion")
    assert "Before demotion" in _titles(await _frames(comm))

    await _assign_role(moderator, Role.USER, admin)
    frames = await _frames(comm)
    assert {"type": "unsubscribed", "topic": "category:rs-staff", "ref": None, "reason": "forbidden"} in frames
    await _post(admin, staff, "After demotion")
    assert _titles(await _frames(comm)) == []
    await comm.disconnect()


async def test_a_promoted_member_receives_staff_posts_without_resubscribing():
    staff = await _category("rs-staff2", read_access=ReadAccess.MODERATOR)
    admin = await make_user(role=Role.ADMIN)
    member = await make_user()
    comm = await open_socket(member)
    assert (await subscribe(comm, "posts"))["type"] == "subscribed"
    await _post(admin, staff, "Hidden from members")
    assert _titles(await _frames(comm)) == []

    await _assign_role(member, Role.MODERATOR, admin)
    await _frames(comm)
    await _post(admin, staff, "Now visible")
    assert _titles(await _frames(comm)) == ["Now visible"]
    await comm.disconnect()


async def test_a_holder_who_loses_the_tier_leaves_the_holders_topic_and_stops_receiving_its_posts():
    holders = await _category("rs-holders", read_min_tier="holder")
    admin = await make_user(role=Role.ADMIN)
    holder = await _holder()
    comm = await open_socket(holder)
    assert (await subscribe(comm, "posts"))["type"] == "subscribed"
    assert (await subscribe(comm, "category:rs-holders", ref="c"))["type"] == "subscribed"
    await _post(admin, holders, "Holders only, before")
    assert "Holders only, before" in _titles(await _frames(comm))

    assert await _lose_tier(holder) != "holder"
    frames = await _frames(comm)
    assert {"type": "unsubscribed", "topic": "category:rs-holders", "ref": None, "reason": "forbidden"} in frames
    await _post(admin, holders, "Holders only, after")
    assert _titles(await _frames(comm)) == []
    await comm.disconnect()
