"""Real-time settings (the /ws/ consumer, its limits, presence)."""

from successkid.settings.env import env

# Browser Origins allowed on /ws/ besides CORS_ALLOWED_ORIGINS and the API's own origin (full
# origins, e.g. "https://app.successkid.example", matched exactly: scheme, host and port). Clients
# that send no Origin (bots, native apps) pass.
REALTIME_ALLOWED_ORIGINS = env.list("REALTIME_ALLOWED_ORIGINS", default=[])

# Per-socket limits.
REALTIME_MAX_MESSAGE_BYTES = env.int("REALTIME_MAX_MESSAGE_BYTES", default=4096)
REALTIME_MAX_SUBSCRIPTIONS = env.int("REALTIME_MAX_SUBSCRIPTIONS", default=50)
REALTIME_RATE_PER_SECOND = env.float("REALTIME_RATE_PER_SECOND", default=10.0)
REALTIME_RATE_BURST = env.int("REALTIME_RATE_BURST", default=30)
REALTIME_BROADCAST_RATE_PER_SECOND = env.float("REALTIME_BROADCAST_RATE_PER_SECOND", default=3.0)
REALTIME_BROADCAST_BURST = env.int("REALTIME_BROADCAST_BURST", default=10)
REALTIME_BROADCAST_MAX_BYTES = env.int("REALTIME_BROADCAST_MAX_BYTES", default=2048)
# A socket that keeps flooding after this many refused messages in a row is closed (4429).
REALTIME_FLOOD_CLOSE_AFTER = env.int("REALTIME_FLOOD_CLOSE_AFTER", default=50)

# Presence: "redis" (TTL'd sorted sets, shared by every process) or "database" (a table).
REALTIME_PRESENCE_BACKEND = env(
    "REALTIME_PRESENCE_BACKEND", default="redis" if env("REDIS_URL", default="") else "database"
)
REALTIME_PRESENCE_HEARTBEAT_SECONDS = env.float("REALTIME_PRESENCE_HEARTBEAT_SECONDS", default=15.0)
# An entry not refreshed for this long belongs to a dead process and is dropped (with a leave).
REALTIME_PRESENCE_TTL_SECONDS = env.float("REALTIME_PRESENCE_TTL_SECONDS", default=45.0)
# Joins and leaves within this window go out as one presence.diff per room.
REALTIME_PRESENCE_BATCH_SECONDS = env.float("REALTIME_PRESENCE_BATCH_SECONDS", default=0.1)
# Channel-layer group memberships expire (a day by default in channels); the hub renews its own.
REALTIME_GROUP_REFRESH_SECONDS = env.float("REALTIME_GROUP_REFRESH_SECONDS", default=3600.0)
# A signed-in socket closes (4401) when its access token expires, unless the client sent a fresh
# token with an `auth` message.
REALTIME_CLOSE_ON_TOKEN_EXPIRY = env.bool("REALTIME_CLOSE_ON_TOKEN_EXPIRY", default=True)
