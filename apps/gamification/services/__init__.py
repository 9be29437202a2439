"""Every gamification write, one module per seam: the points ledger (`ledger`), activity log and
streaks (`activity`), upvotes (`votes`), other areas' events (`reactions`), achievements
(`achievements`), vote rings (`rings`) and standings maintenance (`leaderboards`). Batch work
(scans, rebuilds, backfills) is in apps.gamification.jobs.

Callers import from here; code inside the package imports from the submodule that defines a name
(patch it there)."""

from apps.gamification.services.achievements import (
    STATE_TYPES,
    achievement_met,
    check_achievements,
    unlock_achievement,
    unlock_event_achievements,
)
from apps.gamification.services.activity import STAT_FIELDS, bump_stat, record_activity, record_visit
from apps.gamification.services.leaderboards import (
    rebuild_redis_board,
    rebuild_redis_leaderboards,
    standings_changed,
    upsert_standings,
)
from apps.gamification.services.ledger import award_points, reverse_source, reverse_transaction
from apps.gamification.services.reactions import (
    content_created,
    content_removed,
    holder_tier_changed,
    milestone_witnessed,
    wallet_verified,
)
from apps.gamification.services.rings import penalise_ring, strongly_connected
from apps.gamification.services.votes import VOTE_ACTIVITIES, VoteOutcome, vote_changed, voter_is_eligible

__all__ = [
    "STATE_TYPES",
    "STAT_FIELDS",
    "VOTE_ACTIVITIES",
    "VoteOutcome",
    "achievement_met",
    "award_points",
    "bump_stat",
    "check_achievements",
    "content_created",
    "content_removed",
    "holder_tier_changed",
    "milestone_witnessed",
    "penalise_ring",
    "rebuild_redis_board",
    "rebuild_redis_leaderboards",
    "record_activity",
    "record_visit",
    "reverse_source",
    "reverse_transaction",
    "standings_changed",
    "strongly_connected",
    "unlock_achievement",
    "unlock_event_achievements",
    "upsert_standings",
    "vote_changed",
    "voter_is_eligible",
    "wallet_verified",
]
