"""Every write of the market area, one module per seam: `validation` (quote rules and the write lock),
`polling` (failover over the sources), `recording` (an accepted quote and everything that follows from
it: rollups, milestones, moves, alerts, broadcasts), `history` (retention, backfill, milestone seed)
and `alerts` (price-alert CRUD). Callers import from `apps.market.services`."""

from .alerts import (
    ABSURD_FACTOR,
    MAX_CHANGE_PCT,
    MIN_CHANGE_PCT,
    alert_create,
    alert_delete,
    alert_update,
    current_price,
)
from .history import backfill, enforce_retention, load_milestones
from .polling import PollResult, poll_guarded, poll_once
from .recording import _FIRE_CONDITIONS, _FIRE_SQL, record_quote
from .validation import ABSURD_PRICE, JUMP_REFERENCE_MAX_AGE, MAX_STORED_PCT, agree, change_pct, is_jump, quote_problem

__all__ = [
    "ABSURD_FACTOR",
    "ABSURD_PRICE",
    "JUMP_REFERENCE_MAX_AGE",
    "MAX_CHANGE_PCT",
    "MAX_STORED_PCT",
    "MIN_CHANGE_PCT",
    "PollResult",
    "_FIRE_CONDITIONS",
    "_FIRE_SQL",
    "agree",
    "alert_create",
    "alert_delete",
    "alert_update",
    "backfill",
    "change_pct",
    "current_price",
    "enforce_retention",
    "is_jump",
    "load_milestones",
    "poll_guarded",
    "poll_once",
    "quote_problem",
    "record_quote",
]
