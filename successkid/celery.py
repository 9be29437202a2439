import logging
import os

from celery import Celery, Task
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")


class SystemTask(Task):
    """Every job runs in the audited row-level-security system context (apps/core/rls.py): a job
    acts for no signed-in user (digests, balance refreshes, retention), so it may read and write
    every user's private rows. The context is transaction-local, so the job runs in one
    transaction: a failing job leaves nothing half-written."""

    def __call__(self, *args, **kwargs):
        from apps.core import rls

        try:
            with rls.system_context(f"celery:{self.name}"):
                return super().__call__(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            # The database is away (the context's own BEGIN can fail before the job's body runs):
            # jobs that say so are retried later rather than lost.
            if getattr(self, "retry_on_database_outage", False):
                raise self.retry(exc=exc) from exc
            raise


logger = logging.getLogger(__name__)


def guard_redis_broker_loss(channel_cls=None) -> None:
    """Keep the worker alive when Redis (the broker) goes away.

    Found by bench/load (fault "redis"): with kombu 5.7 the worker process EXITS ("Unrecoverable
    error: AttributeError: 'NoneType' object has no attribute 'hostname'") when the broker is lost.
    Closing the dead channel (requeueing unacked messages) and late acks of tasks that finish
    afterwards reach for a client through a connection that is already gone, and the AttributeError
    is not one of the connection errors Celery recovers from. Raised as a redis ConnectionError
    instead, every one of those paths is handled as the connection loss it is: logged, and Celery's
    reconnect loop takes over. (Unacked messages stay in Redis's unacked index and are restored
    after the visibility timeout, as after any lost connection.)
    """
    if channel_cls is None:
        from kombu.transport.redis import Channel as channel_cls
    original = channel_cls._connparams
    if getattr(original, "_sk_guarded", False):
        return

    def _connparams(self, asynchronous=False):
        if getattr(self.connection, "client", None) is None:
            from redis.exceptions import ConnectionError as RedisConnectionError

            raise RedisConnectionError("the broker connection is closed")
        return original(self, asynchronous=asynchronous)

    _connparams._sk_guarded = True
    channel_cls._connparams = _connparams


guard_redis_broker_loss()

# Periodic plumbing whose INFO lines ("Sending due task", "received", "succeeded") would fill the
# console every few seconds; their warnings and errors (a failure, a retry) still show.
QUIET_TASKS = ("core.relay_outbox",)


class QuietTasksFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        message = record.getMessage()
        return not any(name in message for name in QUIET_TASKS)


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QuietTasksFilter())

app = Celery("successkid", task_cls=SystemTask)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
