"""Bulk notifications (announcements, milestones) reach the users connected right now, each with
their own row and unread count, computed by the process holding their sockets (core.push
"per-user frames")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.core import rls
from apps.notifications import services
from apps.notifications.models import Notification, NotificationSettings
from tests.realtime.helpers import make_user, next_event, open_socket, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def announce(key: str) -> int:
    with rls.system_context("test:announce"):  # as the command and the receivers run it
        return services.announce(title="Maintenance tonight", body="20:00 UTC", link="/status", key=key)


@sync_to_async
def settings_for(user, **fields):
    with rls.user_context(user.pk):
        NotificationSettings.objects.create(user=user, **fields)


@sync_to_async
def rows_of(user) -> list[int]:
    with rls.user_context(user.pk):
        return list(Notification.objects.filter(user=user).values_list("id", flat=True))


async def connected(user):
    comm = await open_socket(user)
    assert (await subscribe(comm, f"user:{user.pk}"))["type"] == "subscribed"
    return comm


async def test_an_announcement_is_pushed_to_each_connected_user_once():
    alice, bob = await make_user(), await make_user()
    opted_out, quiet, offline = await make_user(), await make_user(), await make_user()
    await settings_for(opted_out, types={"system_announcement": {"in_app": False, "email": False}})
    await settings_for(quiet, dnd_until=timezone.now() + timedelta(hours=1))
    sockets = {u: await connected(u) for u in (alice, bob, opted_out, quiet)}

    await announce("m1")

    for user in (alice, bob):
        frame = await next_event(sockets[user])
        assert frame["topic"] == f"user:{user.pk}" and frame["event"] == "notification.created"
        assert frame["data"]["notification"]["title"] == "Maintenance tonight"
        assert [frame["data"]["notification"]["id"]] == await rows_of(user)  # their own row
        assert frame["data"]["unread_count"] == 1
    assert await sockets[opted_out].receive_nothing(timeout=0.3)  # not in-app for them
    assert await sockets[quiet].receive_nothing(timeout=0.3)  # stored, not pushed (do not disturb)
    assert len(await rows_of(quiet)) == 1 and len(await rows_of(offline)) == 1

    assert await announce("m1") == 0  # the same announcement again: nothing stored, nothing pushed
    assert await sockets[alice].receive_nothing(timeout=0.3)
    for comm in sockets.values():
        await comm.disconnect()


async def test_a_user_gets_only_their_own_frame():
    alice, bob = await make_user(), await make_user()
    comm = await connected(alice)
    other = await open_socket(bob)  # connected, but not subscribed to their user topic
    await announce("m2")
    frame = await next_event(comm)
    assert frame["topic"] == f"user:{alice.pk}"
    assert await comm.receive_nothing(timeout=0.3)
    assert await other.receive_nothing(timeout=0.3)
    await comm.disconnect()
    await other.disconnect()
