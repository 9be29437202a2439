"""What the API documentation (OpenAPI description, Swagger UI, ReDoc) tells a reader on its own:
the envelope, errors, pagination, authentication modes, browser use and the WebSocket protocol.
Nothing here points outside what the API serves."""

DESCRIPTION = """
Forum and social hub for holders and fans of the Success Kid Solana token. Everything below holds for
every operation; each operation's own page says what is particular to it.

## Envelope
Every success body is `{"data": ..., "meta": ...}` (`meta` may be left out on single objects; lists
always carry `meta.pagination`). Every failure is
`{"error": {"code", "message", "details", "request_id"}}`, with `details` per field for
`validation_error`. Times are ISO 8601 in UTC with `Z`; money and token amounts are decimal strings.
Request bodies are JSON (`application/json`), uploads `multipart/form-data`. Paths take an optional
trailing slash. Every answer has an `X-Request-ID` header (send your own to correlate logs).

| status | error codes |
|---|---|
| 400 | `validation_error` (with `details`), `bad_request` |
| 401 | `not_authenticated`, `token_invalid`, `token_expired`; on refresh and logout also `refresh_missing`, `token_reused` |
| 403 | `permission_denied`, `csrf_failed`, `account_suspended` |
| 404 | `not_found` (also for what the caller may not see) |
| 405 | `method_not_allowed` |
| 409 | `conflict` |
| 413 | `payload_too_large` |
| 415 | `unsupported_media_type` |
| 429 | `rate_limited`, with a `Retry-After` header (seconds) |
| 503 | `service_unavailable`, with `Retry-After` |
| 5xx | `server_error`: no internals |

## Pagination
Feeds use cursors: `?limit=` (default 20, at most 100; larger is clamped) and `?cursor=` (opaque,
from `meta.pagination.next_cursor` / `prev_cursor`, `null` at the ends). Ranked lists use `?page=` and
`?limit=` with `meta.pagination = {page, limit, total}`. A malformed cursor is a 400.

## Retries and caching
`POST`s that create something accept `Idempotency-Key: <1-255 visible ASCII characters>`: a retry with
the same key and body answers the first answer again, with `Idempotent-Replayed: true`, and nothing
runs twice. `GET`s answer an `ETag`; send it back as `If-None-Match` to get a `304`.

## Authentication
Operations without a lock are public; a token, when sent, may personalise their answer (for example
`my_vote`). Locked operations need `Authorization: Bearer <access token>`.

- `POST /api/auth/register`, `/login` (and the wallet and OAuth ways in) answer
  `{"access", "refresh", "user"}`. Access tokens are short-lived JWTs; `POST /api/auth/refresh` with
  `{"refresh"}` answers a new pair.
- **Refresh tokens rotate** on every use. Presenting one that was already used ends the whole
  session (every token of that sign-in) with 401 `token_reused` -- except within a short grace
  window after its rotation (20 seconds by default): then the answer carries the session's current
  refresh token, so several tabs refreshing at once, or a retry after a lost response, stay signed in.
- **Every refresh failure is a 401** with a specific code: `refresh_missing`, `token_invalid`,
  `token_expired`, `token_reused`. On any 401 from refresh, sign in again.
- `POST /api/auth/logout` ends the presented session (`{"all": true}`: every session). Logout,
  revoking a session, a password change, a suspension and deleting the account also close the
  affected WebSockets (close code 4401).

### Browser clients: cookie mode
A single-page app sends `X-Auth-Mode: cookie` on register, login and refresh (and
`credentials: "include"` on every call to `/api/auth/`). The refresh token is then set only as an
httpOnly cookie on the API's host and left out of the body; the answer carries `csrf_token` in the
body and in the `X-CSRFToken` response header. Send it back as `X-CSRFToken` on refresh and logout
(403 `csrf_failed` otherwise). It stays the same for the whole session, so every tab may use it; a
reloaded tab gets it again from `GET /api/auth/csrf`. Keep the access token in memory and send it as
`Authorization: Bearer`. CORS allows the configured origins every request header the API reads
(`Authorization`, `Content-Type`, `Idempotency-Key`, `If-None-Match`, `X-Auth-Mode`, `X-CSRFToken`,
`X-Request-ID`) and exposes every header a client reads (`ETag`, `Retry-After`, `X-Request-ID`,
`Idempotent-Replayed`, `Location`, `X-CSRFToken`, ...), errors included. Image URLs in answers are
absolute and may be shown by pages on the configured origins.

## Real-time: one WebSocket at `/ws/`
Authenticate with `?token=<access token>` or a first message `{"type": "auth", "token": "..."}`
(also how a long-lived socket renews its token); anonymous sockets read public topics only. A browser's
`Origin` must be one of the configured origins exactly (scheme, host and port).

Client to server:
```json
{"type": "subscribe", "topic": "post:42", "ref": "1"}
{"type": "subscribe", "topic": "posts", "filter": {"category": "memes"}, "ref": "2"}
{"type": "unsubscribe", "topic": "post:42", "ref": "3"}
{"type": "ping", "ref": "4"}
{"type": "broadcast", "topic": "presence:lobby", "event": "chat.message", "data": {"text": "gm"}, "ref": "5"}
```
Server to client: `{"type": "subscribed" | "unsubscribed" | "pong", "topic", "ref"}`,
`{"type": "authenticated", "user_id", "ref"}`,
`{"type": "error", "ref", "error": {"code": "forbidden" | "unknown_topic" | "bad_message" | "rate_limited", "message"}}`
and events `{"type": "event", "topic", "event", "data", "ts"}` (room broadcasts add `"from"`).

| topic | who may subscribe | events |
|---|---|---|
| `market` | anyone | `price.updated`, `milestone.reached`, `market.moved` |
| `posts` | anyone (each event only to those who may read it) | `post.created` |
| `category:<slug>` | who may read the category | `post.created` |
| `post:<id>` | who may read the post | `comment.created`, `post.updated`, `vote.changed` |
| `user:<id>` | that user | `notification.created`, `points.awarded`, `achievement.unlocked`, `level.up` |
| `leaderboard` | anyone | `leaderboard.changed` |
| `presence:<room>` | signed-in users; subscribing joins | `presence.state`, `presence.diff` |

Close codes: **4401** the access token expired or the session ended (refresh, then reconnect; if
refresh fails, sign in), **4403** the token is invalid, **4429** flooding, **4008** a socket that
stopped reading.
"""

# Reader-facing descriptions of the shared shapes (the serializers' docstrings are notes for
# developers).
COMPONENT_DESCRIPTIONS = {
    "PublicUser": "A user as anyone may see them.",
    "OwnUser": "A user as they see themselves (and as admins see them): the public fields and private ones.",
    "Post": (
        "A forum post. A deleted or removed post is a placeholder: its title says so, its body and author "
        "are empty, its counters and place in the thread stay."
    ),
    "Comment": (
        "A comment. Comments are listed flat in depth-first thread order; nest them by `parent_id`. "
        "Deleted or removed comments that still have visible replies are placeholders (`is_deleted` true)."
    ),
    "Notification": "A notification: `type`, `title`, `body`, `data`, `read`, `created_at` (and `link`, `count`).",
    "Price": "The token's price and market data; `stale` is true when no fresh quote could be had.",
    "Wallet": "A linked Solana wallet with its verified state, balance and holder tier.",
}

# Swagger UI and ReDoc show groups in this order, each with its description.
TAGS = [
    {"name": "auth", "description": "Sign up, sign in (password, OAuth, wallet), tokens, sessions, cookie mode."},
    {"name": "users", "description": "Profiles, settings, avatars, account deletion and data export."},
    {"name": "forum", "description": "Categories, tags, posts, comments, votes, bookmarks."},
    {"name": "notifications", "description": "Your notifications, subscriptions and notification settings."},
    {"name": "media", "description": "Image uploads and the files they are served from."},
    {"name": "search", "description": "Full-text search and suggestions."},
    {"name": "gamification", "description": "Points, levels, achievements and leaderboards."},
    {"name": "wallet", "description": "Linking Solana wallets and their balances and transactions."},
    {"name": "market", "description": "The token's price, history, milestones and price alerts."},
    {"name": "realtime", "description": "Helpers for the WebSocket at /ws/ (see the description above)."},
    {"name": "reports", "description": "Reporting content to the moderators."},
    {"name": "moderation", "description": "The moderators' queue and actions."},
    {"name": "admin", "description": "Roles, suspensions and audit (moderators and admins)."},
    {"name": "health", "description": "Liveness and readiness for load balancers."},
]

# Read-only operations anyone may call for the same answer (shown without a lock). Views that
# authenticate nobody (sign-in, refresh, password reset...) are public without being listed.
PUBLIC_OPERATIONS = frozenset(
    {
        "GET /api/health",
        "GET /api/health/ready",
        "GET /api/achievements",
        "GET /api/levels",
        "GET /api/leaderboard",
        "GET /api/points/activities",
        "GET /api/users/{user_id}/achievements",
        "GET /api/market/price",
        "GET /api/market/history",
        "GET /api/market/sources",
        "GET /api/market/milestones",
        "GET /api/market/milestones/{milestone_id}/card.png",
        "GET /api/trending",
    }
)
