from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A signed-in caller's `Idempotency-Key` on a POST, written in the same transaction as what
    the POST wrote, with the answer it got (apps.core.idempotency). Private to the caller (RLS)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)
    # The answer's data as JSON text from DRF's own encoder (text, not jsonb, keeps the key order):
    # a replay renders what the first answer rendered.
    response = models.TextField(null=True)
    location = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "idempotency_keys"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


class LimitCounter(models.Model):
    """One fixed-window counter of the limiter (apps.core.limits) when there is no Redis. Written
    on the limiter's own autocommit connection, never inside a request's transaction, so a refused
    or failed request still counts."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.IntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "limit_counters"

    def __str__(self) -> str:
        return f"{self.key}={self.count}"


class OutboxEvent(models.Model):
    """A domain event, written by `apps.core.events.emit` in the transaction of the change it
    reports: it exists if and only if that change committed (the transactional outbox)."""

    id = models.UUIDField(primary_key=True)
    type = models.CharField(max_length=200)  # "module:QualName" of the event class
    payload = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "outbox_events"

    def __str__(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]} {self.id}"


class OutboxDelivery(models.Model):
    """One receiver's delivery of one event: attempted with backoff until it succeeds, parked after
    EVENTS_OUTBOX_MAX_ATTEMPTS failures (retryable from the admin)."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    receiver = models.CharField(max_length=300)  # "module:qualname" of the receiver function
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "outbox_deliveries"
        verbose_name_plural = "outbox deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "receiver"], name="outbox_delivery_once")]
        indexes = [
            # The relay's queue: pending pairs by due time (done and parked ones are not in it).
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_delivery_pending",
                condition=models.Q(done_at__isnull=True, parked_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.receiver} <- {self.event_id}"
