"""Policy hooks other areas plug into the forum's writes, without the forum importing them.

- A content gate decides, before a post or comment is written or edited, whether it may be (a
  block raises), and with which status (published, or pending approval); after the write it may
  queue the item for review. Moderation registers its spam controls here.
- After-save callbacks see every saved post and comment body (media links uploads to them).

Both run inside the writing transaction, so a failure rolls the write back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from apps.forum.models import ContentStatus


class Verdict(Protocol):
    @property
    def status(self) -> str: ...

    def raise_if_blocked(self) -> None: ...


class ContentGate(Protocol):
    def check_post(self, author, title: str, body: str) -> Verdict: ...

    def check_comment(self, author, body: str) -> Verdict: ...

    def check_post_edit(self, author, title: str, body: str) -> Verdict: ...

    def check_comment_edit(self, author, body: str) -> Verdict: ...

    def after_create(self, verdict: Verdict, target_type: str, target_id: int) -> None: ...


@dataclass(frozen=True)
class _Allow:
    status: str = ContentStatus.PUBLISHED

    def raise_if_blocked(self) -> None:
        return None


class _OpenGate:
    def check_post(self, author, title, body):
        return _Allow()

    def check_comment(self, author, body):
        return _Allow()

    def check_post_edit(self, author, title, body):
        return _Allow()

    def check_comment_edit(self, author, body):
        return _Allow()

    def after_create(self, verdict, target_type, target_id):
        return None


_gate: ContentGate = _OpenGate()
_after_save: list[Callable[[str, Any], None]] = []


def set_content_gate(gate: ContentGate) -> None:
    global _gate
    _gate = gate


def content_gate() -> ContentGate:
    return _gate


def on_content_saved(callback: Callable[[str, Any], None]) -> None:
    """`callback(kind, obj)` with kind "post" or "comment", after each create and edit."""
    if callback not in _after_save:
        _after_save.append(callback)


def content_saved(kind: str, obj: Any) -> None:
    for callback in _after_save:
        callback(kind, obj)
