"""Spam controls the forum's post and comment services call before they write:

    verdict = spam.check_new_post(author, title, body)
    verdict.raise_if_blocked()                 # 429 for first-day limits, 409 duplicates, 400 words
    post = Post(..., status=verdict.status)    # "pending" when the post must wait for approval
    ...
    spam.after_create(verdict, "post", post.pk)  # puts flagged / held content in the queue

Checks, moderators exempt: first-day limits (posts, comments, links per message) for accounts
younger than MODERATION_NEW_USER_HOURS; duplicate detection (the same text by the same author
within MODERATION_DUPLICATE_WINDOW_HOURS); watched words (block, flag, require approval); and
pre-approval of a new user's first MODERATION_PREAPPROVE_FIRST_POSTS posts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, Conflict, PermissionDeniedError, RateLimited, ValidationFailed
from apps.forum.models import Comment, ContentStatus, Post
from apps.moderation.models import WatchedWordAction
from apps.moderation.word_matching import (  # noqa: F401 (invalidate_watched_words: spam's public name)
    invalidate_watched_words,
    tokens_and_index,
    watched_patterns,
)

ALLOW, FLAG, REQUIRE_APPROVAL, BLOCK = "allow", "flag", "require_approval", "block"
_SEVERITY = {ALLOW: 0, FLAG: 1, REQUIRE_APPROVAL: 2, BLOCK: 3}
LINK_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A Markdown image or an HTML <img> (the opening bracket is enough: no backtracking).
IMAGE_RE = re.compile(r"!\[|<img\b", re.IGNORECASE)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Verdict:
    action: str = ALLOW  # allow | flag | require_approval | block
    reasons: tuple[str, ...] = ()
    matched_words: tuple[str, ...] = ()
    error: ApplicationError | None = field(default=None, compare=False)

    @property
    def allowed(self) -> bool:
        return self.action != BLOCK

    @property
    def status(self) -> str:
        """The status the new content should be created with."""
        return ContentStatus.PENDING if self.action == REQUIRE_APPROVAL else ContentStatus.PUBLISHED

    def raise_if_blocked(self) -> None:
        if self.action == BLOCK and self.error is not None:
            raise self.error


def _worse(a: Verdict, b: Verdict) -> Verdict:
    if _SEVERITY[b.action] > _SEVERITY[a.action]:
        return Verdict(b.action, a.reasons + b.reasons, a.matched_words + b.matched_words, b.error)
    return Verdict(a.action, a.reasons + b.reasons, a.matched_words + b.matched_words, a.error)


# --- Watched words ---------------------------------------------------------------------------


def check_watched_words(text: str) -> Verdict:
    verdict = Verdict()
    patterns = watched_patterns()
    if not any(patterns.values()):
        return verdict
    words, index = tokens_and_index(text)
    for action, severity_action in (
        (WatchedWordAction.FLAG, FLAG),
        (WatchedWordAction.REQUIRE_APPROVAL, REQUIRE_APPROVAL),
        (WatchedWordAction.BLOCK, BLOCK),
    ):
        hits = tuple(p.word for p in patterns.get(action, []) if p.matches(words, index))
        if hits:
            error = (
                ValidationFailed(
                    "Your text contains words that are not allowed here.",
                    details={"body": [f"Not allowed: {', '.join(hits)}."]},
                )
                if severity_action == BLOCK
                else None
            )
            verdict = _worse(verdict, Verdict(severity_action, ("watched_word",), hits, error))
    return verdict


# --- Checks --------------------------------------------------------------------------------


def _exempt(author: User) -> bool:
    return author.is_moderator


def _is_new(author: User) -> bool:
    return author.date_joined > timezone.now() - timedelta(hours=settings.MODERATION_NEW_USER_HOURS)


def _normalise(text: str) -> str:
    return _WS.sub(" ", text or "").strip().lower()


def _first_day_limit(author: User, model: type[Post] | type[Comment], limit: int, label: str) -> Verdict:
    since = timezone.now() - timedelta(hours=settings.MODERATION_NEW_USER_HOURS)
    count = model.objects.filter(author=author, created_at__gte=since).count()
    if count >= limit:
        retry = int(
            (author.date_joined + timedelta(hours=settings.MODERATION_NEW_USER_HOURS) - timezone.now()).total_seconds()
        )
        return Verdict(
            BLOCK,
            ("new_user_limit",),
            error=RateLimited(
                f"New accounts can write {limit} {label} in their first {settings.MODERATION_NEW_USER_HOURS} hours.",
                retry_after=max(retry, 1),
            ),
        )
    return Verdict()


def _links(author: User, text: str) -> Verdict:
    limit = settings.MODERATION_NEW_USER_MAX_LINKS
    if len(LINK_RE.findall(text)) > limit:
        return Verdict(
            BLOCK,
            ("new_user_links",),
            error=ValidationFailed(
                f"New accounts can include at most {limit} links.", details={"body": [f"At most {limit} links."]}
            ),
        )
    return Verdict()


def _duplicate(author: User, model: type[Post] | type[Comment], body: str, title: str | None = None) -> Verdict:
    since = timezone.now() - timedelta(hours=settings.MODERATION_DUPLICATE_WINDOW_HOURS)
    normal = _normalise(body)
    if not normal:
        return Verdict()
    recent = model.objects.filter(author=author, created_at__gte=since).exclude(status=ContentStatus.DELETED)
    fields = ("title", "body") if title is not None else ("body",)
    for row in recent.order_by("-id").values_list(*fields)[:50]:
        same_body = _normalise(row[-1]) == normal
        if same_body and (title is None or _normalise(row[0]) == _normalise(title) or len(normal) > 40):
            return Verdict(BLOCK, ("duplicate",), error=Conflict("You already posted this recently."))
    return Verdict()


def _level_perks(author: User, text: str) -> Verdict:
    """Links and images need the level perks `post_links` / `post_images`
    (apps.gamification.catalogue.user_level_allows), once levels are set up (`manage.py seed`)."""
    from apps.gamification.catalogue import levels, user_level_allows

    if not levels():
        return Verdict()
    for perk, found, what in (("post_links", LINK_RE, "links"), ("post_images", IMAGE_RE, "images")):
        if found.search(text) and not user_level_allows(author, perk):
            return Verdict(
                BLOCK,
                ("level_perk",),
                error=PermissionDeniedError(
                    f"Your level does not allow {what} yet.", code="permission_denied", details={"perk": perk}
                ),
            )
    return Verdict()


def _text_rules(author: User, text: str) -> Verdict:
    """What the text itself may hold, on create and on edit: watched words, new accounts' link
    limit, level perks."""
    verdict = check_watched_words(text)
    if _is_new(author):
        verdict = _worse(verdict, _links(author, text))
    return _worse(verdict, _level_perks(author, text))


def check_post_edit(author: User, title: str, body: str) -> Verdict:
    """An edit passes the same text rules as creation (not the first-day count or duplicates)."""
    if _exempt(author):
        return Verdict()
    return _text_rules(author, f"{title}\n{body}")


def check_comment_edit(author: User, body: str) -> Verdict:
    if _exempt(author):
        return Verdict()
    return _text_rules(author, body)


def check_new_post(author: User, title: str, body: str) -> Verdict:
    if _exempt(author):
        return Verdict()
    verdict = _text_rules(author, f"{title}\n{body}")
    verdict = _worse(verdict, _duplicate(author, Post, body, title))
    if _is_new(author):
        verdict = _worse(verdict, _first_day_limit(author, Post, settings.MODERATION_NEW_USER_MAX_POSTS, "posts"))
    first_n = settings.MODERATION_PREAPPROVE_FIRST_POSTS
    if first_n > 0 and verdict.action != BLOCK:
        published = Post.objects.filter(author=author, status=ContentStatus.PUBLISHED).count()
        if published < first_n:
            verdict = _worse(verdict, Verdict(REQUIRE_APPROVAL, ("needs_approval",)))
    return verdict


def check_new_comment(author: User, body: str) -> Verdict:
    if _exempt(author):
        return Verdict()
    verdict = _text_rules(author, body)
    verdict = _worse(verdict, _duplicate(author, Comment, body))
    if _is_new(author):
        verdict = _worse(
            verdict, _first_day_limit(author, Comment, settings.MODERATION_NEW_USER_MAX_COMMENTS, "comments")
        )
    return verdict


def after_create(verdict: Verdict, target_type: str, target_id: int) -> None:
    """Queue what the verdict says needs a moderator's eyes. Call inside the creating transaction."""
    from apps.moderation.services import flag_for_review

    if verdict.action == REQUIRE_APPROVAL:
        flag_for_review(target_type=target_type, target_id=target_id, reason="needs_approval")
    if "watched_word" in verdict.reasons and verdict.action in (FLAG, REQUIRE_APPROVAL):
        flag_for_review(
            target_type=target_type,
            target_id=target_id,
            reason="watched_word",
            note=", ".join(verdict.matched_words),
        )
