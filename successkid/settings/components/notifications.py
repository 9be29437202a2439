"""Notifications settings: retention, email links, digest schedule."""

from celery.schedules import crontab

from successkid.settings.env import env

# Retention: at most this many notifications per user (newest kept); expired ones go too.
NOTIFICATIONS_MAX_PER_USER = env.int("NOTIFICATIONS_MAX_PER_USER", default=500)
# Links in emails point at the web client.
NOTIFICATIONS_SITE_URL = env("NOTIFICATIONS_SITE_URL", default=env("SIWS_URI", default="http://localhost:8000"))
NOTIFICATIONS_SITE_NAME = env("NOTIFICATIONS_SITE_NAME", default="Success Kid")

BEAT_SCHEDULE = {
    "notifications-daily-digest": {
        "task": "notifications.send_digests",
        "schedule": crontab(hour=8, minute=0),
        "args": ("daily",),
    },
    "notifications-weekly-digest": {
        "task": "notifications.send_digests",
        "schedule": crontab(hour=8, minute=30, day_of_week="mon"),
        "args": ("weekly",),
    },
    "notifications-retention": {
        "task": "notifications.purge",
        "schedule": crontab(hour=3, minute=15),
    },
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {
    "notifications.send_email": {"queue": "interactive"},
    "notifications.send_digest": {"queue": "batch"},
    "notifications.send_digests": {"queue": "batch"},
    "notifications.purge": {"queue": "batch"},
}
