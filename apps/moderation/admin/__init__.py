"""The moderators' workplace: the review queue (highest score first, filters, the reported content
inline, bulk actions, one-click actions on an item), the read-only audit log, watched words, and a
member page with the member's moderation history. Every button calls the same services as the API.

Moderators need `is_staff` to enter the admin; what they may do is decided by
apps.accounts.access.user_can, not by Django's model permissions.

Importing the package registers every page (Django's admin autodiscovery imports it).
"""

from apps.moderation.admin import audit_log, members, queue, watched_words

__all__ = ["audit_log", "members", "queue", "watched_words"]
