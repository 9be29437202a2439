"""Local development (`make run`): console mail, embedded PostgreSQL by default. DEBUG pages (every
URL pattern, the server's paths) only when asked for with DEBUG=1: a `make run` instance may be
reachable by others."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)
# Local uploads (avatars) are still served by the app under /media/ without DEBUG.
SERVE_LOCAL_MEDIA = env.bool("SERVE_LOCAL_MEDIA", default=True)
