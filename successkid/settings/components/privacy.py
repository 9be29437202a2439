"""Your data: export, account deletion, IP retention. Every value can be set from the
environment."""

from datetime import timedelta

from successkid.settings.env import env

EXTRA_INSTALLED_APPS = ["apps.privacy"]

# GET /api/users/me/export: a heavy read, so its own budget on top of the read class.
THROTTLE_PRIVACY_EXPORT = env("THROTTLE_PRIVACY_EXPORT", default="3/hour")

# Deleted accounts' posts and comments are attributed to this one shared account. The brackets
# make the name impossible to register (see accounts.models.username_validator).
PRIVACY_GHOST_USERNAME = env("PRIVACY_GHOST_USERNAME", default="[deleted]")
PRIVACY_GHOST_DISPLAY_NAME = env("PRIVACY_GHOST_DISPLAY_NAME", default="Deleted user")

# Stored client IPs (sessions, account audit log) are truncated once older than this many days:
# IPv4 to its /24, IPv6 to its /48 (apps/privacy/services.py: ip_scrub, run daily by beat).
IP_RETENTION_DAYS = env.int("IP_RETENTION_DAYS", default=30)
IP_RETENTION_V4_PREFIX = env.int("IP_RETENTION_V4_PREFIX", default=24)
IP_RETENTION_V6_PREFIX = env.int("IP_RETENTION_V6_PREFIX", default=48)

BEAT_SCHEDULE = {
    "privacy-ip-scrub": {"task": "apps.privacy.tasks.ip_scrub", "schedule": timedelta(days=1)},
}
