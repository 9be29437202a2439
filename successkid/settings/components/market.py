"""Market area settings (price sources, polling, validation, retention, alerts)."""

from successkid.settings.env import env

MARKET_POLL_SECONDS = env.int("MARKET_POLL_SECONDS", default=30)

# The price sources, the one place a source is registered: its name, the class that asks it, its
# default base URL and whether it takes an API key. Each source NAME gets NAME_BASE_URL (and
# NAME_API_KEY) from the environment; the default order of MARKET_SOURCES, the sources the poller
# builds and the API's help texts all derive from this.
MARKET_SOURCE_REGISTRY = {
    "dexscreener": {
        "class": "apps.market.sources.dexscreener.DexScreenerSource",
        "base_url": "https://api.dexscreener.com",
        "api_key": False,
    },
    "coingecko": {
        "class": "apps.market.sources.coingecko.CoinGeckoSource",
        "base_url": "https://api.coingecko.com/api/v3",
        "api_key": True,
    },
    "solscan": {
        "class": "apps.market.sources.solscan.SolscanSource",
        "base_url": "https://pro-api.solscan.io/v2.0",
        "api_key": True,
    },
}
for _source, _spec in MARKET_SOURCE_REGISTRY.items():
    globals()[f"{_source.upper()}_BASE_URL"] = env(f"{_source.upper()}_BASE_URL", default=_spec["base_url"])
    if _spec["api_key"]:
        globals()[f"{_source.upper()}_API_KEY"] = env(f"{_source.upper()}_API_KEY", default="")
# Sources tried in this order; the first valid (and, after an absurd jump, confirmed) quote wins.
MARKET_SOURCES = env.list("MARKET_SOURCES", default=list(MARKET_SOURCE_REGISTRY))
MARKET_HTTP_TIMEOUT_SECONDS = env.float("MARKET_HTTP_TIMEOUT_SECONDS", default=5.0)
COINGECKO_COIN_ID = env("COINGECKO_COIN_ID", default="success-kid")

# Validation: a price further than this from the last good quote needs a second source within
# MARKET_CONFIRM_TOLERANCE_PCT of it.
MARKET_MAX_JUMP_PCT = env.float("MARKET_MAX_JUMP_PCT", default=50.0)
MARKET_CONFIRM_TOLERANCE_PCT = env.float("MARKET_CONFIRM_TOLERANCE_PCT", default=5.0)
# The price endpoint says `stale: true` when the last good quote is older than this, or when the
# latest poll got nothing from any source.
MARKET_STALE_SECONDS = env.int("MARKET_STALE_SECONDS", default=max(120, 4 * MARKET_POLL_SECONDS))

# Source health: exponential back-off after each failure (429 honours Retry-After), and a circuit
# that opens after MARKET_CIRCUIT_THRESHOLD consecutive failures.
MARKET_BACKOFF_BASE_SECONDS = env.int("MARKET_BACKOFF_BASE_SECONDS", default=30)
MARKET_BACKOFF_MAX_SECONDS = env.int("MARKET_BACKOFF_MAX_SECONDS", default=900)
MARKET_CIRCUIT_THRESHOLD = env.int("MARKET_CIRCUIT_THRESHOLD", default=5)
MARKET_CIRCUIT_COOLDOWN_SECONDS = env.int("MARKET_CIRCUIT_COOLDOWN_SECONDS", default=600)

# Live updates: `price.updated` at most once per this many seconds (and only when the price changed).
MARKET_BROADCAST_MIN_SECONDS = env.int("MARKET_BROADCAST_MIN_SECONDS", default=5)
# Milestones: the market cap must hold above the threshold this long.
MARKET_MILESTONE_CONFIRM_SECONDS = env.int("MARKET_MILESTONE_CONFIRM_SECONDS", default=600)
# Significant moves: this percent within this window emits `market.moved`, at most once per window.
MARKET_MOVE_PCT = env.float("MARKET_MOVE_PCT", default=10.0)
MARKET_MOVE_WINDOW_MINUTES = env.int("MARKET_MOVE_WINDOW_MINUTES", default=60)
# Price alerts.
MARKET_ALERTS_PER_USER = env.int("MARKET_ALERTS_PER_USER", default=20)
# Retention in days per resolution ("raw" = accepted quotes); 0 keeps forever.
MARKET_RETENTION_DAYS = {
    "raw": env.int("MARKET_RETENTION_RAW_DAYS", default=7),
    "1m": env.int("MARKET_RETENTION_1M_DAYS", default=21),
    "5m": env.int("MARKET_RETENTION_5M_DAYS", default=90),
    "1h": env.int("MARKET_RETENTION_1H_DAYS", default=365),
    "1d": env.int("MARKET_RETENTION_1D_DAYS", default=0),
}

BEAT_SCHEDULE = {
    "market-poll": {
        "task": "apps.market.tasks.poll_market",
        "schedule": float(MARKET_POLL_SECONDS),
        # A poll that waited longer than one period is pointless: the next one is already due.
        "options": {"expires": float(MARKET_POLL_SECONDS)},
    },
    "market-retention": {"task": "apps.market.tasks.enforce_market_retention", "schedule": 3600.0},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {
    "apps.market.tasks.poll_market": {"queue": "outside"},
    "apps.market.tasks.enforce_market_retention": {"queue": "batch"},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {
    "apps.market.tasks.poll_market": {"queue": "outside"},
    "apps.market.tasks.enforce_market_retention": {"queue": "batch"},
}
