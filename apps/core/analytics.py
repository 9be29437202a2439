"""A pluggable analytics sink: `track("post.created", user_id=..., properties={...})`.

ANALYTICS_SINKS lists dotted paths of callables taking one dict. The default logs the event (no IPs,
no emails); an operator can add a sink that ships to their warehouse. A failing sink never fails
the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("successkid.analytics")


def log_sink(event: dict[str, Any]) -> None:
    logger.info("analytics %s", event["name"], extra={"analytics": event})


@lru_cache(maxsize=1)
def _sinks(paths: tuple[str, ...]) -> list[Callable[[dict[str, Any]], None]]:
    return [import_string(p) for p in paths]


def track(name: str, *, user_id: int | None = None, properties: dict[str, Any] | None = None) -> None:
    event = {
        "name": name,
        "user_id": user_id,
        "properties": properties or {},
        "time": datetime.now(UTC).isoformat(),
    }
    for sink in _sinks(tuple(settings.ANALYTICS_SINKS)):
        try:
            sink(event)
        except Exception:
            logger.warning("analytics sink %r failed", sink, exc_info=True)
