"""Moderation: the reports the user filed, and how they were judged.

Reports stay (a pending reviewable keeps its score and a decided one its history) on the
anonymous tombstone row, but their free-text notes are blanked; the reporter's accuracy stats
are deleted. Moderation records *about* the user's content stay with that content."""

from __future__ import annotations

from apps.moderation.models import Report, ReporterStats
from apps.privacy.shaping import deleted, one, rows

SECTION = "moderation"
# Reviewable/AuditLogEntry/WatchedWord point at users as subjects or as the moderator who acted:
# records of the platform's decisions, kept (the tombstone row is anonymous).
MODELS = ["moderation.Report", "moderation.ReporterStats", "moderation.Reviewable", "moderation.AuditLogEntry",
          "moderation.WatchedWord"]  # fmt: skip


def export(user) -> dict:
    return {
        "reports": rows(
            Report.objects.filter(reporter=user).order_by("created_at", "id"),
            "target_type",
            "target_id",
            "reason",
            "note",
            "status",
            "created_at",
            "resolved_at",
        ),  # fmt: skip
        "reporter_stats": one(ReporterStats.objects.filter(user=user).first(), "agreed", "rejected", "ignored"),
    }


def erase(user) -> dict:
    return {
        "report_notes_blanked": Report.objects.filter(reporter=user).exclude(note="").update(note=""),
        "reporter_stats": deleted(ReporterStats.objects.filter(user=user)),
    }
