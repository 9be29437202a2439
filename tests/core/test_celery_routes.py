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


def test_a_lost_redis_broker_is_a_connection_error_not_a_crash():
    # kombu 5.7 raised AttributeError when a channel whose connection is gone was closed or acked
    # (the worker exited); now it is a redis ConnectionError, which Celery recovers from.
    from types import SimpleNamespace

    import pytest
    from kombu.transport.redis import Channel, Transport
    from redis.exceptions import ConnectionError as RedisConnectionError

    from successkid.celery import guard_redis_broker_loss

    guard_redis_broker_loss()  # idempotent (already applied at import)
    assert getattr(Channel._connparams, "_sk_guarded", False)
    channel = Channel.__new__(Channel)
    channel.connection = SimpleNamespace(client=None)
    with pytest.raises(RedisConnectionError):
        channel._connparams()
    assert RedisConnectionError in Transport.connection_errors


def test_sending_a_task_does_not_wait_for_an_unreachable_result_backend(tmp_path):
    # A web request enqueues tasks (notifications) and never reads their results; with the result
    # backend (Redis) down, `.delay()` used to retry subscribing for ~20 s inside the request.
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    code = (
        "import django, time; django.setup()\n"
        "from successkid.celery import app\n"
        "app.conf.task_always_eager = False\n"
        "app.conf.broker_url = 'memory://'\n"
        "app.conf.result_backend = 'redis://127.0.0.1:1/0'\n"
        "from apps.notifications.tasks import send_notification_email\n"
        "t = time.time(); send_notification_email.delay(0); print(round(time.time() - t, 2))\n"
    )
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) < 3, out.stdout
    assert time.time() - started < 60


def test_every_thread_shares_one_result_backend():
    """A request may run on a fresh thread (ASGI); building a backend per thread made every
    `.delay()` from a request pay for a new one (the database backend even checks its tables)."""
    import threading

    seen = []
    worker = threading.Thread(target=lambda: seen.append(app.backend))
    worker.start()
    worker.join()
    assert seen == [app.backend]
