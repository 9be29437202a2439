"""Search: the search log stores no user id, only a salted hash per searcher (see
services.searcher_key); the user's own rows are found by recomputing their hash. Erasure deletes
them (they would age out after SEARCH_LOG_RETENTION_DAYS anyway)."""

from __future__ import annotations

from apps.privacy.shaping import deleted, rows
from apps.search.models import SearchLog
from apps.search.services import searcher_key

SECTION = "search"
MODELS: list[str] = []


def _mine(user):
    return SearchLog.objects.filter(searcher=searcher_key(user_id=user.pk, address=None))


def export(user) -> dict:
    return {"search_log": rows(_mine(user).order_by("created_at", "id"), "query", "result_count", "created_at")}


def erase(user) -> dict:
    return {"search_log": deleted(_mine(user))}
