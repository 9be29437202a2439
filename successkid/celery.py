import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")


class SystemTask(Task):
    """Every job runs in the audited row-level-security system context (apps/core/rls.py): a job
    acts for no signed-in user (digests, balance refreshes, retention), so it may read and write
    every user's private rows. The context is transaction-local, so the job runs in one
    transaction: a failing job leaves nothing half-written."""

    def __call__(self, *args, **kwargs):
        from apps.core import rls

        with rls.system_context(f"celery:{self.name}"):
            return super().__call__(*args, **kwargs)


app = Celery("successkid", task_cls=SystemTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
