"""Domain events and broadcasts leave only after commit; a rollback sends nothing."""

from dataclasses import dataclass

import pytest
from django.db import transaction

from apps.core import events, push
from apps.core.events import DomainEvent


@dataclass(frozen=True)
class ThingHappened(DomainEvent):
    thing_id: int


@pytest.fixture
def received():
    got: list[DomainEvent] = []
    events.subscribe(ThingHappened, got.append)
    yield got
    events.unsubscribe(ThingHappened, got.append)


@pytest.mark.django_db(transaction=True)
def test_event_is_delivered_after_commit(received):
    with transaction.atomic():
        events.emit(ThingHappened(thing_id=1))
        assert received == []  # not yet: still inside the transaction
    assert received == [ThingHappened(thing_id=1)]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_emits_nothing(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(ThingHappened(thing_id=2))
        raise RuntimeError("boom")
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_failing_receiver_does_not_stop_the_others(received):
    def broken(event):
        raise ValueError("receiver bug")

    events.subscribe(ThingHappened, broken)
    try:
        with transaction.atomic():
            events.emit(ThingHappened(thing_id=3))
    finally:
        events.unsubscribe(ThingHappened, broken)
    assert received == [ThingHappened(thing_id=3)]


@pytest.mark.django_db(transaction=True)
def test_broadcast_waits_for_commit_and_rollback_sends_nothing(monkeypatch):
    sent = []
    monkeypatch.setattr(push, "broadcast_now", lambda *args: sent.append(args))
    with pytest.raises(RuntimeError), transaction.atomic():
        push.broadcast("market", "price.updated", {"price_usd": "1"})
        raise RuntimeError
    assert sent == []
    with transaction.atomic():
        push.broadcast("market", "price.updated", {"price_usd": "2"})
        assert sent == []
    assert sent == [("market", "price.updated", {"price_usd": "2"})]


def test_bad_topic_fails_fast():
    with pytest.raises(ValueError):
        push.group_name("no spaces allowed")
