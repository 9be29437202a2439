"""Moderation and media settings. Every name can be overridden from the environment."""

from datetime import timedelta

from successkid.settings.env import env

EXTRA_INSTALLED_APPS = ["apps.moderation", "apps.media"]

# --- Reports and the review queue -------------------------------------------------------------
# A reviewable whose score (sum of its reporters' weights) reaches this hides its post/comment
# until a moderator decides. 0 disables auto-hide.
MODERATION_AUTO_HIDE_SCORE = env.float("MODERATION_AUTO_HIDE_SCORE", default=5.0)
# A moderator's report counts this much (default: enough to auto-hide at once).
MODERATION_MODERATOR_REPORT_WEIGHT = env.float("MODERATION_MODERATOR_REPORT_WEIGHT", default=5.0)
# Score a system flag (watched word, pre-approval) adds to its reviewable.
MODERATION_SYSTEM_FLAG_SCORE = env.float("MODERATION_SYSTEM_FLAG_SCORE", default=1.0)
# Reporter weight bounds (see apps/moderation/scoring.py).
MODERATION_MIN_REPORTER_WEIGHT = env.float("MODERATION_MIN_REPORTER_WEIGHT", default=0.2)
MODERATION_MAX_REPORTER_WEIGHT = env.float("MODERATION_MAX_REPORTER_WEIGHT", default=4.0)
# Reports per reporter per hour (accounts younger than MODERATION_NEW_USER_HOURS get the lower one).
MODERATION_REPORTS_PER_HOUR = env.int("MODERATION_REPORTS_PER_HOUR", default=20)
MODERATION_NEW_USER_REPORTS_PER_HOUR = env.int("MODERATION_NEW_USER_REPORTS_PER_HOUR", default=5)
# How long a claim keeps other moderators off an item.
MODERATION_CLAIM_MINUTES = env.int("MODERATION_CLAIM_MINUTES", default=30)
# Longest suspension through the API/admin (a ban is the permanent one).
MODERATION_MAX_SUSPENSION_DAYS = env.int("MODERATION_MAX_SUSPENSION_DAYS", default=365)

# --- Spam controls (apps/moderation/spam.py) --------------------------------------------------
MODERATION_NEW_USER_HOURS = env.int("MODERATION_NEW_USER_HOURS", default=24)
MODERATION_NEW_USER_MAX_POSTS = env.int("MODERATION_NEW_USER_MAX_POSTS", default=3)
MODERATION_NEW_USER_MAX_COMMENTS = env.int("MODERATION_NEW_USER_MAX_COMMENTS", default=20)
MODERATION_NEW_USER_MAX_LINKS = env.int("MODERATION_NEW_USER_MAX_LINKS", default=2)
MODERATION_DUPLICATE_WINDOW_HOURS = env.int("MODERATION_DUPLICATE_WINDOW_HOURS", default=24)
# Hold a new account's first N posts for approval (0: off).
MODERATION_PREAPPROVE_FIRST_POSTS = env.int("MODERATION_PREAPPROVE_FIRST_POSTS", default=0)

# --- Media (apps/media) -----------------------------------------------------------------------
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=8 * 1024 * 1024)
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=40_000_000)  # width x height (x frames for animations)
MEDIA_MAX_DIMENSION = env.int("MEDIA_MAX_DIMENSION", default=12_000)
MEDIA_MAX_FRAMES = env.int("MEDIA_MAX_FRAMES", default=300)
MEDIA_DAILY_UPLOADS = env.int("MEDIA_DAILY_UPLOADS", default=100)
MEDIA_DAILY_BYTES = env.int("MEDIA_DAILY_BYTES", default=200 * 1024 * 1024)
MEDIA_THUMBNAIL_SIZE = env.int("MEDIA_THUMBNAIL_SIZE", default=320)
MEDIA_MEDIUM_SIZE = env.int("MEDIA_MEDIUM_SIZE", default=1280)
# Uploads never attached to a post/avatar are deleted after this many hours.
MEDIA_ORPHAN_HOURS = env.int("MEDIA_ORPHAN_HOURS", default=24)
# ClamAV: "tcp://host:3310" or "unix:///run/clamav/clamd.ctl"; empty disables scanning.
MEDIA_CLAMAV_URL = env("MEDIA_CLAMAV_URL", default="")
MEDIA_CLAMAV_TIMEOUT = env.float("MEDIA_CLAMAV_TIMEOUT", default=10.0)
# When the scanner is configured but unreachable: refuse uploads (503) unless this is true.
MEDIA_CLAMAV_FAIL_OPEN = env.bool("MEDIA_CLAMAV_FAIL_OPEN", default=False)

# S3-compatible storage through django-storages (`pip install django-storages[s3]`) when a bucket
# is named; local files under MEDIA_ROOT otherwise.
MEDIA_S3_BUCKET = env("MEDIA_S3_BUCKET", default="")
# The API's public origin for image URLs (e.g. "https://api.example.com"); unset, each answer uses
# the request's own scheme and host. Every image URL the API returns is absolute either way.
MEDIA_PUBLIC_BASE_URL = env("MEDIA_PUBLIC_BASE_URL", default="")
# One Cross-Origin-Resource-Policy for every image the API serves: "cross-origin" lets an SPA on
# any configured origin (another site included) show them; "same-site" only for app./api. pairs.
MEDIA_CROSS_ORIGIN_RESOURCE_POLICY = env("MEDIA_CROSS_ORIGIN_RESOURCE_POLICY", default="cross-origin")
if MEDIA_S3_BUCKET:
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": MEDIA_S3_BUCKET,
                "endpoint_url": env("MEDIA_S3_ENDPOINT_URL", default=None),
                "region_name": env("MEDIA_S3_REGION", default=None),
                "access_key": env("MEDIA_S3_ACCESS_KEY_ID", default=None),
                "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY", default=None),
                "custom_domain": env("MEDIA_S3_CUSTOM_DOMAIN", default=None),
                "default_acl": None,
                "querystring_auth": env.bool("MEDIA_S3_SIGNED_URLS", default=False),
                "file_overwrite": False,
                # Served as attachments-safe images, never sniffed into HTML.
                "object_parameters": {"ContentDisposition": "inline", "CacheControl": "public, max-age=31536000"},
            },
        },
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }

BEAT_SCHEDULE = {
    "media-cleanup-orphans": {"task": "apps.media.tasks.cleanup_orphan_media", "schedule": timedelta(hours=1)},
    "moderation-expire-claims": {"task": "apps.moderation.tasks.expire_claims", "schedule": timedelta(minutes=10)},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {
    "apps.media.tasks.generate_variants": {"queue": "media"},
    "apps.media.tasks.cleanup_orphan_media": {"queue": "media"},
    "apps.moderation.tasks.*": {"queue": "batch"},
}
