"""Every task lands on a queue a plain `celery worker` consumes, and each kind of work on its own."""

from django.conf import settings

from successkid.celery import app


def _queue(name: str) -> str:
    route = app.amqp.router.route({}, name, args=(), kwargs={})
    return route["queue"].name


def test_every_registered_task_is_routed_to_a_declared_queue():
    app.loader.import_default_modules()
    ours = [n for n in app.tasks if not n.startswith("celery.")]
    assert len(ours) >= 20
    declared = {q.name for q in app.conf.task_queues}
    assert declared == set(settings.CELERY_QUEUE_NAMES)
    assert {n: _queue(n) for n in ours if _queue(n) not in declared} == {}


def test_kinds_of_work_are_split():
    assert _queue("notifications.handle_event") == "interactive"
    assert _queue("notifications.send_email") == "interactive"
    assert _queue("apps.gamification.tasks.rebuild_redis_board") == "interactive"
    assert _queue("apps.market.tasks.poll_market") == "outside"
    assert _queue("wallet.refresh_wallet") == "outside"
    assert _queue("apps.media.tasks.generate_variants") == "media"
    assert _queue("apps.forum.tasks.decay_hot_ranks") == "batch"
    assert _queue("apps.gamification.tasks.detect_vote_rings") == "batch"
    assert _queue("core.echo") == "celery"


def test_a_worker_without_q_consumes_every_queue():
    # Celery's worker consumes app.conf.task_queues unless -Q narrows it: one worker still runs all.
    assert [q.name for q in app.conf.task_queues] == list(settings.CELERY_QUEUE_NAMES)


def test_a_lost_redis_broker_does_not_kill_the_worker():
    # kombu 5.7 raises AttributeError while closing a channel whose connection is gone (the worker
    # then exits); the guard finishes the close so Celery reconnects. Other errors still surface.
    import pytest

    from successkid.celery import guard_redis_channel_close

    class FakeChannel:
        error = AttributeError("'NoneType' object has no attribute 'hostname'")

        def close(self):
            raise self.error

    guard_redis_channel_close(FakeChannel)
    guard_redis_channel_close(FakeChannel)  # idempotent
    FakeChannel().close()  # no exception
    FakeChannel.error = RuntimeError("something else")
    with pytest.raises(RuntimeError):
        FakeChannel().close()

    from kombu.transport.redis import Channel

    assert getattr(Channel.close, "_sk_guarded", False)
