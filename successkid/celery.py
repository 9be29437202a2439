import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")

logger = logging.getLogger(__name__)


def guard_redis_channel_close(channel_cls=None) -> None:
    """Keep the worker alive when Redis (the broker) goes away.

    Found by bench/load (fault "redis"): with kombu 5.7 the worker process EXITS ("Unrecoverable
    error: AttributeError: 'NoneType' object has no attribute 'hostname'") when the broker is lost:
    closing the dead channel tries to requeue unacknowledged messages through a connection that is
    already gone. Nothing can be requeued at that point anyway (Redis keeps the unacked index and
    restores it after the visibility timeout), so the close is finished quietly and Celery's own
    reconnect loop takes over, as it does for every other connection error.
    """
    if channel_cls is None:
        from kombu.transport.redis import Channel as channel_cls
    original = channel_cls.close
    if getattr(original, "_sk_guarded", False):
        return

    def close(self):
        try:
            original(self)
        except AttributeError as exc:
            logger.warning("broker channel closed after its connection was lost (%s); reconnecting", exc)

    close._sk_guarded = True
    channel_cls.close = close


guard_redis_channel_close()

app = Celery("successkid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
