"""Presence entries for deployments without Redis (with Redis they live in TTL'd sorted sets)."""

from __future__ import annotations

from django.db import connection, models


class PresenceEntry(models.Model):
    """One socket of one user in one room, alive until `expires_at` unless its process renews it."""

    room = models.CharField(max_length=64)
    user_id = models.BigIntegerField()
    socket_id = models.CharField(max_length=64)
    profile = models.JSONField(default=dict)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "realtime_presence"
        constraints = [models.UniqueConstraint(fields=["room", "socket_id"], name="realtime_presence_socket_unique")]
        indexes = [
            models.Index(fields=["room", "user_id", "expires_at"], name="realtime_presence_member_idx"),
            models.Index(fields=["room", "expires_at"], name="realtime_presence_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room}"

    @staticmethod
    def lock_member(room: str, user_id: int) -> None:
        """Transaction-scoped advisory lock on (room, user): joins and leaves of one member queue."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"presence:{room}:{user_id}"])
