"""Which topics exist and who may subscribe. Later issues register their topics here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apps.core.realtime import TOPIC_RE

# An authoriser answers True (allowed), False (forbidden) for (user, topic argument).
Authoriser = Callable[[object, str | None], Awaitable[bool]]


async def _anyone(user, arg) -> bool:
    return True


@dataclass(frozen=True)
class TopicSpec:
    name: str
    takes_argument: bool
    authorise: Authoriser


_topics: dict[str, TopicSpec] = {}


def register(name: str, *, takes_argument: bool = False, authorise: Authoriser = _anyone) -> None:
    _topics[name] = TopicSpec(name, takes_argument, authorise)


def resolve(topic: str) -> tuple[TopicSpec, str | None] | None:
    if not isinstance(topic, str) or not TOPIC_RE.match(topic):
        return None
    name, _, arg = topic.partition(":")
    spec = _topics.get(name)
    if spec is None or spec.takes_argument != bool(arg):
        return None
    return spec, (arg or None)


register("market")
register("posts")
