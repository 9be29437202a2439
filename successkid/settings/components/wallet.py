"""Wallet area: the token, Sign In With Solana, balances through Solana JSON-RPC, holder tiers.

Every name can be overridden from the environment. The RPC endpoints are one list, SOLANA_RPC_URLS
(tried in order): adding an endpoint is adding a URL to it.
"""

from datetime import timedelta

from successkid.settings.env import env

# --- Sign In With Solana ----------------------------------------------------------------------
SIWS_DOMAIN = env("SIWS_DOMAIN", default="localhost:8000")
SIWS_URI = env("SIWS_URI", default="http://localhost:8000")
SIWS_CHAIN_ID = env("SIWS_CHAIN_ID", default="mainnet")
SIWS_STATEMENT = env("SIWS_STATEMENT", default="Sign in to the Success Kid community. This costs nothing.")
SIWS_CHALLENGE_TTL_SECONDS = env.int("SIWS_CHALLENGE_TTL_SECONDS", default=300)
SIWS_ISSUED_AT_SKEW_SECONDS = env.int("SIWS_ISSUED_AT_SKEW_SECONDS", default=600)
SIWS_CHALLENGE_RATE = env("SIWS_CHALLENGE_RATE", default="30/min")  # per client IP / per user

# --- Token ------------------------------------------------------------------------------------
TOKEN_MINT = env("TOKEN_MINT", default="4dEsUqET9sdYoVXzFWkM3cMJbKMESZkHxPjK17imbuPW")
TOKEN_SYMBOL = env("TOKEN_SYMBOL", default="SKID")
# Decimals used when an owner has no token account yet (an account's own `decimals` wins).
TOKEN_DECIMALS = env.int("TOKEN_DECIMALS", default=6)

# --- Solana RPC adapter ----------------------------------------------------------------------
SOLANA_RPC_URLS = env.list("SOLANA_RPC_URLS", default=["https://api.mainnet-beta.solana.com"])
SOLANA_RPC_TIMEOUT_SECONDS = env.float("SOLANA_RPC_TIMEOUT_SECONDS", default=8.0)
SOLANA_RPC_MAX_ROUNDS = env.int("SOLANA_RPC_MAX_ROUNDS", default=3)  # passes over every endpoint
SOLANA_RPC_BACKOFF_SECONDS = env.float("SOLANA_RPC_BACKOFF_SECONDS", default=0.5)  # base, doubled each round
SOLANA_RPC_BACKOFF_MAX_SECONDS = env.float("SOLANA_RPC_BACKOFF_MAX_SECONDS", default=8.0)
SOLANA_RPC_BREAKER_FAILURES = env.int("SOLANA_RPC_BREAKER_FAILURES", default=5)  # consecutive, per endpoint
SOLANA_RPC_BREAKER_COOLDOWN_SECONDS = env.int("SOLANA_RPC_BREAKER_COOLDOWN_SECONDS", default=60)
SOLANA_RPC_BALANCE_CACHE_SECONDS = env.int("SOLANA_RPC_BALANCE_CACHE_SECONDS", default=20)

# --- Links and refresh ------------------------------------------------------------------------
WALLET_MAX_PER_USER = env.int("WALLET_MAX_PER_USER", default=10)
WALLET_REFRESH_COOLDOWN_SECONDS = env.int("WALLET_REFRESH_COOLDOWN_SECONDS", default=60)  # POST /wallet/refresh
WALLET_REFRESH_BATCH = env.int("WALLET_REFRESH_BATCH", default=50)  # wallets per beat run
WALLET_REFRESH_PAUSE_SECONDS = env.float("WALLET_REFRESH_PAUSE_SECONDS", default=0.2)  # between wallets in a batch
WALLET_REFRESH_INTERVAL_SECONDS = env.int("WALLET_REFRESH_INTERVAL_SECONDS", default=6 * 3600)  # ordinary wallets
WALLET_REFRESH_ACTIVE_SECONDS = env.int("WALLET_REFRESH_ACTIVE_SECONDS", default=3600)  # users seen in the last day
WALLET_REFRESH_NEAR_SECONDS = env.int("WALLET_REFRESH_NEAR_SECONDS", default=1800)  # near a tier threshold / in grace
WALLET_NEAR_THRESHOLD_PCT = env.int("WALLET_NEAR_THRESHOLD_PCT", default=10)
WALLET_TX_PAGE_SIZE = env.int("WALLET_TX_PAGE_SIZE", default=50)  # signatures per getSignaturesForAddress call
WALLET_TX_MAX_PAGES = env.int("WALLET_TX_MAX_PAGES", default=2)  # pages per sync (first sync: the newest ones)

# --- Holder tiers -----------------------------------------------------------------------------
# Lowest first: (name, minimum whole tokens held over all verified wallets). The wallet app
# computes tiers; other apps compare them by position in this list.
HOLDER_TIERS = [
    ("none", 0),
    ("holder", env.int("HOLDER_TIER_HOLDER_MIN", default=1_000_000)),
    ("whale", env.int("HOLDER_TIER_WHALE_MIN", default=100_000_000)),
]
# A downgrade waits this long.
HOLDER_TIER_GRACE_SECONDS = env.int("HOLDER_TIER_GRACE_SECONDS", default=24 * 3600)

BEAT_SCHEDULE = {
    "wallet.refresh_due": {
        "task": "wallet.refresh_due",
        "schedule": timedelta(seconds=env.int("WALLET_BEAT_SECONDS", default=60)),
        "options": {"expires": 55},
    },
}

TASK_ROUTES = {"wallet.*": {"queue": "outside"}}
