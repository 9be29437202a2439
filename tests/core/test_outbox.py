"""The transactional outbox: an event exists iff its transaction committed, and every (event,
receiver) pair is delivered, once per success, even when the emitting process never dispatched it."""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from apps.core import events, outbox
from apps.core.events import DomainEvent
from apps.core.models import OutboxDelivery, OutboxEvent
from apps.core.tasks import relay_outbox
from apps.forum.models import Post
from apps.gamification.models import PointTransaction
from apps.notifications.models import Notification
from tests.factories import UserFactory
from tests.forum.factories import CategoryFactory


@dataclass(frozen=True)
class Pinged(DomainEvent):
    thing_id: int
    tags: tuple[str, ...] = ()


calls: list[Pinged] = []
effects: set[int] = set()  # what an idempotent receiver "stored"
failures_left = {"n": 0}


def flaky(event: Pinged) -> None:
    """Fails failures_left times, then stores its effect by a unique key (like the real receivers)."""
    calls.append(event)
    if failures_left["n"] > 0:
        failures_left["n"] -= 1
        raise RuntimeError("receiver bug or outage")
    effects.add(event.thing_id)


def healthy(event: Pinged) -> None:
    calls.append(("healthy", event))


def slow(event: Pinged) -> None:
    calls.append(event)
    time.sleep(0.05)  # long enough for a second relay to try the same pair


@pytest.fixture
def subscribed():
    calls.clear()
    effects.clear()
    failures_left["n"] = 0
    added = []

    def add(receiver):
        events.subscribe(Pinged, receiver)
        added.append(receiver)

    yield add
    for receiver in added:
        events.unsubscribe(Pinged, receiver)


LATER = timedelta(hours=2)  # past every backoff: the relay finds each pending pair due


@pytest.mark.django_db(transaction=True)
def test_an_event_exists_iff_its_transaction_committed(subscribed):
    subscribed(flaky)
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(Pinged(thing_id=1))
        assert OutboxEvent.objects.count() == 1  # written inside the transaction
        raise RuntimeError("the write fails")
    assert OutboxEvent.objects.count() == 0 and OutboxDelivery.objects.count() == 0
    assert calls == []

    with transaction.atomic():
        events.emit(Pinged(thing_id=2, tags=("a", "b")))
    row = OutboxEvent.objects.get()
    assert row.type == "tests.core.test_outbox:Pinged" and row.payload == {"thing_id": 2, "tags": ["a", "b"]}
    assert outbox.rebuild(row) == Pinged(thing_id=2, tags=("a", "b"))
    delivery = OutboxDelivery.objects.get()
    assert delivery.receiver == "tests.core.test_outbox:flaky" and delivery.done_at is not None  # dispatched in-process
    assert calls == [Pinged(thing_id=2, tags=("a", "b"))]
    assert outbox.relay(now=timezone.now() + LATER) == 0  # nothing left for the relay


@pytest.mark.django_db(transaction=True)
def test_receiver_failing_twice_then_succeeding_runs_its_effect_once_and_alone(subscribed, settings):
    subscribed(flaky)
    subscribed(healthy)
    failures_left["n"] = 2
    with transaction.atomic():
        events.emit(Pinged(thing_id=3))  # in-process: flaky fails (1), healthy succeeds
    failing = OutboxDelivery.objects.get(receiver__endswith=":flaky")
    assert failing.attempts == 1 and failing.done_at is None and "RuntimeError" in failing.last_error
    assert failing.next_attempt_at > timezone.now()  # backoff
    assert outbox.relay() == 0  # not due yet

    assert outbox.relay(now=timezone.now() + LATER) == 0  # fails again (2)
    assert outbox.relay(now=timezone.now() + 2 * LATER) == 1  # succeeds (3)
    assert outbox.relay(now=timezone.now() + 3 * LATER) == 0  # done: never again
    assert effects == {3}
    assert [c for c in calls if c == Pinged(thing_id=3)] == [Pinged(thing_id=3)] * 3
    assert calls.count(("healthy", Pinged(thing_id=3))) == 1  # the healthy receiver never re-ran
    failing.refresh_from_db()
    assert failing.attempts == 3 and failing.done_at is not None


def stores(event: Pinged) -> None:
    """Writes a row, so a rolled-back attempt shows (or not) in the database."""
    Post.objects.filter(pk=event.thing_id).update(title=Concat(F("title"), Value("!")))


@pytest.mark.django_db(transaction=True)
def test_receivers_run_together_in_one_savepoint_and_a_failing_one_is_taken_out(subscribed):
    """One savepoint for all of an event's receivers, not one each (two round trips each). When
    one raises, everything is rolled back, the failure is recorded against it alone, and the others
    run together again: their effects land once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.forum.factories import PostFactory

    post = PostFactory(title="Post")
    subscribed(stores)
    subscribed(healthy)
    subscribed(flaky)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.emit(Pinged(thing_id=post.pk))
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1, savepoints
    mine = OutboxDelivery.objects.filter(receiver__startswith="tests.core.test_outbox:")
    assert mine.filter(done_at__isnull=False).count() == 3

    failures_left["n"] = 1
    with transaction.atomic():
        events.emit(Pinged(thing_id=post.pk))
    post.refresh_from_db()
    assert post.title == "Post!!"  # once per event: the rolled-back attempt left nothing
    failing = OutboxDelivery.objects.filter(receiver__endswith=":flaky", done_at__isnull=True).get()
    assert failing.attempts == 1 and "RuntimeError" in failing.last_error
    assert mine.filter(done_at__isnull=False).count() == 5
    assert outbox.relay(now=timezone.now() + LATER) == 1  # the relay delivers the failed one alone
    post.refresh_from_db()
    assert post.title == "Post!!"


@pytest.mark.django_db(transaction=True)
def test_a_parked_pair_is_counted_and_retried_from_the_admin(subscribed, settings, client, api_client):
    settings.EVENTS_OUTBOX_MAX_ATTEMPTS = 2
    subscribed(flaky)
    failures_left["n"] = 5
    with transaction.atomic():
        events.emit(Pinged(thing_id=4))
    outbox.relay(now=timezone.now() + LATER)
    pair = OutboxDelivery.objects.get()
    assert pair.parked_at is not None and pair.attempts == 2
    assert outbox.relay(now=timezone.now() + 3 * LATER) == 0  # parked: the relay leaves it alone
    metrics = api_client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "sk_outbox_parked 1.0" in metrics

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get("/admin/core/outboxdelivery/?state=parked")
    assert listing.status_code == 200 and b"tests.core.test_outbox:flaky" in listing.content
    failures_left["n"] = 0
    r = client.post("/admin/core/outboxdelivery/", {"action": "retry", "_selected_action": [pair.pk]})
    assert r.status_code == 302
    pair.refresh_from_db()
    assert pair.parked_at is None and pair.attempts == 0
    assert outbox.relay(now=timezone.now() + LATER) == 1
    assert effects == {4}
    assert "sk_outbox_parked 0.0" in api_client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_relays_never_deliver_the_same_pair_at_once(subscribed, settings):
    settings.EVENTS_DISPATCH_ON_COMMIT = False  # leave everything to the relays
    subscribed(slow)
    for i in range(12):
        events.emit(Pinged(thing_id=i))
    later = timezone.now() + LATER
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run_relay():
        try:
            barrier.wait()
            counts.append(outbox.relay(now=later))
        finally:
            connection.close()

    threads = [threading.Thread(target=run_relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.thing_id for c in calls) == list(range(12))  # each pair delivered exactly once
    assert sum(counts) == 12 and all(c > 0 for c in counts)  # and both relays took part
    assert OutboxDelivery.objects.filter(done_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_process_killed_before_dispatch_loses_nothing(settings, make_client, api_client):
    from apps.gamification import catalogue, seed

    seed.load_all()  # the shipped point rules
    catalogue.clear()
    # The web process commits the post and the comment, then dies before running any receiver.
    settings.EVENTS_DISPATCH_ON_COMMIT = False
    settings.EVENTS_OUTBOX_RELAY_DELAY_SECONDS = 0
    started = timezone.now()
    category = CategoryFactory(slug="general", name="General")
    author, commenter = UserFactory(), UserFactory()
    r = make_client(author).post(
        "/api/posts", {"title": "Fresh news", "body": "Hello there", "category": category.slug}, format="json"
    )
    assert r.status_code == 201, r.content
    post_id = r.json()["data"]["id"]
    r = make_client(commenter).post(f"/api/posts/{post_id}/comments", {"body": "Nice one"}, format="json")
    assert r.status_code == 201, r.content
    assert not PointTransaction.objects.filter(user=author, activity="post_created").exists()
    assert not Notification.objects.filter(user=author).exists()
    assert OutboxDelivery.objects.filter(done_at__isnull=True, event__created_at__gte=started).exists()

    relay_outbox.delay()  # the beat's sweep (eager in tests)

    assert PointTransaction.objects.filter(user=author, activity="post_created").count() == 1
    assert Notification.objects.filter(user=author, type="reply_to_post").count() == 1
    # Every delivery of what the requests emitted (and of what their receivers emitted in turn) is done.
    assert not OutboxDelivery.objects.filter(done_at__isnull=True, event__created_at__gte=started).exists()
    assert Post.objects.filter(id=post_id).exists()
    relay_outbox.delay()  # a second sweep changes nothing
    assert PointTransaction.objects.filter(user=author, activity="post_created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_commit_wakes_the_relay_loop_which_delivers_what_its_process_left(settings, make_client):
    """The emitting process dies after commit (dispatch skipped): the relay loop, LISTENing on its
    own connection, is woken by the commit's NOTIFY and delivers once the grace is over, long
    before its idle sweep (30 s here) or beat's would."""
    from apps.gamification import catalogue, seed

    seed.load_all()
    catalogue.clear()
    settings.EVENTS_DISPATCH_ON_COMMIT = False
    settings.EVENTS_OUTBOX_RELAY_DELAY_SECONDS = 1
    settings.EVENTS_OUTBOX_RELAY_SECONDS = 30
    category = CategoryFactory(slug="general", name="General")
    author = UserFactory()
    outbox.relay(now=timezone.now() + LATER)  # what setting up emitted: nothing is pending now
    assert outbox.pending_count() == 0
    stop, ready = threading.Event(), threading.Event()
    loop = threading.Thread(target=outbox.relay_loop, args=(stop,), kwargs={"ready": ready})
    loop.start()
    try:
        assert ready.wait(10)
        time.sleep(0.5)  # past the loop's start-up sweep: only a NOTIFY can wake it now
        r = make_client(author).post(
            "/api/posts", {"title": "Fresh news", "body": "Hello there", "category": category.slug}, format="json"
        )
        assert r.status_code == 201, r.content
        committed = time.monotonic()
        assert not PointTransaction.objects.filter(user=author, activity="post_created").exists()
        while time.monotonic() - committed < 10:
            if PointTransaction.objects.filter(user=author, activity="post_created").exists():
                break
            time.sleep(0.1)
        waited = time.monotonic() - committed
        assert PointTransaction.objects.filter(user=author, activity="post_created").count() == 1
        assert 0.9 < waited < 5  # the grace, then the woken relay; never the 30 s sweep
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()
    assert not OutboxDelivery.objects.filter(event__type="apps.forum.events:PostCreated", done_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_notification_fan_out_is_left_to_the_relay_which_the_commit_wakes_at_once(settings, make_client):
    """The request does not notify anyone itself (a Celery task it queued died with a killed
    worker): the fan-out's delivery is due at once, and the commit's NOTIFY wakes the relay loop
    at once (not after the grace, 30 s here), which writes the notification with its delivery."""
    settings.EVENTS_FAN_OUT_IN_RELAY = True
    settings.EVENTS_OUTBOX_RELAY_DELAY_SECONDS = 30
    settings.EVENTS_OUTBOX_RELAY_SECONDS = 30
    category = CategoryFactory(slug="general", name="General")
    author, commenter = UserFactory(), UserFactory()
    r = make_client(author).post(
        "/api/posts", {"title": "Fresh news", "body": "Hello there", "category": category.slug}, format="json"
    )
    post_id = r.json()["data"]["id"]

    def comment(body: str) -> int:
        r = make_client(commenter).post(f"/api/posts/{post_id}/comments", {"body": body}, format="json")
        assert r.status_code == 201, r.content
        return r.json()["data"]["id"]

    def fan_out(comment_id: int) -> OutboxDelivery:
        return OutboxDelivery.objects.get(
            event__type="apps.forum.events:CommentCreated",
            event__payload__comment_id=comment_id,
            receiver="apps.notifications.receivers:receive",
        )

    first = comment("Nice one")  # no relay runs yet: nobody is notified, the fan-out waits, due now
    assert not Notification.objects.filter(user=author).exists()
    pending = fan_out(first)
    assert pending.done_at is None and pending.attempts == 0 and pending.next_attempt_at <= timezone.now()

    stop, ready = threading.Event(), threading.Event()
    loop = threading.Thread(target=outbox.relay_loop, args=(stop,), kwargs={"ready": ready})
    loop.start()
    try:
        assert ready.wait(10)
        deadline = time.monotonic() + 10
        while fan_out(first).done_at is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the loop's start-up sweep delivers what was due
        assert fan_out(first).done_at is not None
        second = comment("Well done")
        committed = time.monotonic()
        while time.monotonic() - committed < 10 and fan_out(second).done_at is None:
            time.sleep(0.05)
        waited = time.monotonic() - committed
    finally:
        stop.set()
        loop.join(10)
    told = Notification.objects.filter(user=author, type="reply_to_post").values_list("dedupe_key", flat=True)
    assert sorted(told) == sorted([f"comment:{first}", f"comment:{second}"])
    assert waited < 3  # woken at once, neither the 30 s grace nor the 30 s sweep
    assert fan_out(second).attempts == 1


@pytest.mark.django_db
def test_lag_makes_readiness_degraded_and_prune_keeps_undelivered(settings, api_client, subscribed):
    OutboxEvent.objects.all().delete()  # only this test's event (rolled back with the test)
    settings.EVENTS_DISPATCH_ON_COMMIT = False
    subscribed(flaky)
    events.emit(Pinged(thing_id=5))
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(hours=30))
    settings.EVENTS_OUTBOX_LAG_DEGRADED_SECONDS = 60
    r = api_client.get("/api/health/ready")
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "degraded" and r.json()["data"]["checks"]["outbox"] == "lagging"
    mine = OutboxEvent.objects.get().pk
    outbox.prune()
    assert OutboxEvent.objects.filter(pk=mine).exists()  # old but undelivered: kept
    outbox.relay(now=timezone.now() + LATER)
    assert effects == {5}
    outbox.prune()
    assert not OutboxEvent.objects.filter(pk=mine).exists()  # delivered and past EVENTS_OUTBOX_RETENTION_HOURS
    assert api_client.get("/api/health/ready").json()["data"]["checks"]["outbox"] == "ok"


def test_every_app_subscribes_one_way_in_its_receivers_module():
    # "Who reacts to PostCreated?" is one grep: no app subscribes from apps.py or elsewhere.
    from pathlib import Path

    from apps.forum.events import PostCreated

    root = Path(__file__).resolve().parents[2] / "apps"
    elsewhere = [
        str(path)
        for path in root.rglob("*.py")
        if "events.subscribe(" in path.read_text() or "receivers.connect(" in path.read_text()
    ]
    assert elsewhere == []
    modules = {events.dotted(r).split(":")[0] for r in events.receivers_for(PostCreated)}
    assert {"apps.core.receivers", "apps.gamification.receivers", "apps.notifications.receivers"} <= modules
    assert all(m.endswith(".receivers") or m in ("apps.forum.feed_cache",) for m in modules), modules
    assert all(events.relayable(r) for r in events.receivers_for(PostCreated))  # the relay can find each
