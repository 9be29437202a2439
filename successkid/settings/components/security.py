"""Safe retries (apps/core/idempotency.py). Every value can be set from the environment."""

from datetime import timedelta

from successkid.settings.env import env

# How long a POST's Idempotency-Key and its stored answer are kept (a retry after that is new).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

BEAT_SCHEDULE = {
    "core-purge-idempotency-keys": {"task": "core.purge_idempotency_keys", "schedule": timedelta(hours=1)},
    "core-purge-limit-counters": {"task": "core.purge_limit_counters", "schedule": timedelta(minutes=15)},
    # The outbox's safety net behind the workers' relay loops (apps/core/outbox.py).
    "core-relay-outbox": {
        "task": "core.relay_outbox",
        "schedule": timedelta(seconds=env.float("EVENTS_OUTBOX_SWEEP_SECONDS", default=60.0)),
    },
    "core-prune-outbox": {"task": "core.prune_outbox", "schedule": timedelta(hours=1)},
}
