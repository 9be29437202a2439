"""Which topics exist, who may subscribe, and which filters each accepts.

    topics.register("category", takes_argument=True, authorise=may_read_category)
    topics.register("posts", filters={"category": lambda event, data: data["category"]["slug"]})

A filter extractor takes (event name, event data) and returns the value (or list of values) that a
subscription's `filter` is compared with; every topic also accepts `{"event": [...]}`. Filters
are evaluated in the process that holds the socket, once per event per distinct filter.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from apps.core.push import TOPIC_RE

# An authoriser answers True (allowed), False (forbidden) for (user, topic argument).
Authoriser = Callable[[object, str | None], Awaitable[bool]]
Extractor = Callable[[str, Any], Any]

MAX_FILTER_KEYS = 5
MAX_FILTER_VALUES = 20
FILTER_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


async def _anyone(user, arg) -> bool:
    return True


async def signed_in(user, arg) -> bool:
    return bool(getattr(user, "is_authenticated", False))


async def owner_only(user, arg) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and str(user.pk) == str(arg)


def _event_name(event: str, data: Any) -> str:
    return event


@dataclass(frozen=True)
class TopicSpec:
    name: str
    takes_argument: bool
    authorise: Authoriser
    filters: dict[str, Extractor] = field(default_factory=dict)


_topics: dict[str, TopicSpec] = {}


def register(
    name: str,
    *,
    takes_argument: bool = False,
    authorise: Authoriser = _anyone,
    filters: dict[str, Extractor] | None = None,
) -> None:
    _topics[name] = TopicSpec(name, takes_argument, authorise, {"event": _event_name, **(filters or {})})


def resolve(topic: str) -> tuple[TopicSpec, str | None] | None:
    if not isinstance(topic, str) or not TOPIC_RE.match(topic):
        return None
    name, _, arg = topic.partition(":")
    spec = _topics.get(name)
    if spec is None or spec.takes_argument != bool(arg):
        return None
    return spec, (arg or None)


class BadFilter(ValueError):
    pass


def parse_filter(spec: TopicSpec, raw: Any) -> dict[str, frozenset[str]] | None:
    """Validate a subscription's `filter`: {key: value | [values]} with keys the topic knows."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict) or len(raw) > MAX_FILTER_KEYS:
        raise BadFilter(f"filter must be an object with at most {MAX_FILTER_KEYS} keys.")
    parsed: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if key not in spec.filters:
            known = ", ".join(sorted(spec.filters))
            raise BadFilter(f"Topic {spec.name!r} cannot be filtered by {str(key)[:32]!r} (known: {known}).")
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_FILTER_VALUES:
            raise BadFilter(f"filter {key!r} takes 1 to {MAX_FILTER_VALUES} values.")
        clean = set()
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (str, int)) or not FILTER_VALUE_RE.match(str(v)):
                raise BadFilter(f"filter {key!r} values must be short strings or numbers.")
            clean.add(str(v))
        parsed[key] = frozenset(clean)
    return parsed


def matches(spec: TopicSpec, flt: dict[str, frozenset[str]], event: str, data: Any) -> bool:
    """True when the event passes every key of the filter (any of the listed values)."""
    for key, wanted in flt.items():
        try:
            actual = spec.filters[key](event, data)
        except (KeyError, TypeError, AttributeError, IndexError):
            return False
        if actual is None:
            return False
        values = actual if isinstance(actual, (list, tuple, set, frozenset)) else (actual,)
        if not any(str(v) in wanted for v in values):
            return False
    return True


def _slug_of(value: Any) -> Any:
    return value.get("slug") if isinstance(value, dict) else value


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


# posts: post.created carries the REST post (category {slug, name}, tags [slugs], author {id...}).
register(
    "posts",
    filters={
        "category": lambda event, data: _slug_of(data.get("category")),
        "tag": lambda event, data: [_slug_of(t) for t in data.get("tags") or ()],
        "author": lambda event, data: _id_of(data.get("author")),
    },
)
# market: `{"event": ["price.updated"]}` (the generic filter) or its alias `kind`.
register("market", filters={"kind": _event_name})
register("leaderboard", filters={"period": lambda event, data: data.get("period")})
register("user", takes_argument=True, authorise=owner_only)
register("presence", takes_argument=True, authorise=signed_in)
