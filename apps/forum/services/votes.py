"""Votes on posts and comments: one short transaction per vote, counters and rankings in one UPDATE."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.events import emit
from apps.core.exceptions import PermissionDeniedError, ValidationFailed
from apps.forum import broadcasts, ranking
from apps.forum.content_rules import ContentGone
from apps.forum.events import VoteChanged
from apps.forum.models import ContentStatus, Vote
from apps.forum.services.checks import (
    check_visible_comment,
    check_visible_post,
    lock_comment,
    lock_post,
    require_contributor,
)


@dataclass(frozen=True)
class VoteResult:
    score: int
    upvotes: int
    downvotes: int
    my_vote: int


def _vote_deltas(old: int, new: int) -> tuple[int, int]:
    return int(new == 1) - int(old == 1), int(new == -1) - int(old == -1)


def _validate_vote_value(value) -> int:
    if isinstance(value, bool) or value not in (-1, 0, 1):
        raise ValidationFailed("value must be 1, -1 or 0.", details={"value": ["Must be 1, -1 or 0."]})
    return int(value)


def _write_vote(*, user: User, post_id: int, comment_id: int | None, new: int) -> int:
    """Insert/update/delete the user's vote row; returns the old value. The caller holds the row
    lock of the voted item, so two votes of one user cannot interleave."""
    existing = Vote.objects.filter(user=user, post_id=post_id, comment_id=comment_id).only("id", "value").first()
    old = existing.value if existing else 0
    if new == old:
        return old
    now = timezone.now()
    if new == 0:
        Vote.objects.filter(pk=existing.pk).delete()
    elif existing is None:
        Vote.objects.create(
            user=user, post_id=post_id, comment_id=comment_id, value=new, created_at=now, updated_at=now
        )
    else:
        Vote.objects.filter(pk=existing.pk).update(value=new, updated_at=now)
    return old


_POST_VOTE_SQL = f"""
UPDATE posts SET
    upvotes = upvotes + %(du)s,
    downvotes = downvotes + %(dd)s,
    score = score + %(du)s - %(dd)s,
    hot_rank = {{hot}},
    controversy = {ranking.controversy_sql("upvotes + %(du)s", "downvotes + %(dd)s")}
WHERE id = %(id)s
RETURNING score, upvotes, downvotes
"""  # noqa: S608 (constant formulas; values are query parameters)

_COMMENT_VOTE_SQL = f"""
UPDATE comments SET
    upvotes = upvotes + %(du)s,
    downvotes = downvotes + %(dd)s,
    score = score + %(du)s - %(dd)s,
    best_rank = {ranking.wilson_sql("upvotes + %(du)s", "downvotes + %(dd)s")}
WHERE id = %(id)s
RETURNING score, upvotes, downvotes
"""  # noqa: S608 (constant formulas; values are query parameters)


def _run_counter_update(sql: str, params: dict) -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@transaction.atomic
def vote_post(*, user: User, post_id: int, value: int) -> VoteResult:
    """One short transaction: lock the post row, upsert/delete the vote, move the counters and
    rankings in one UPDATE. Concurrent voters queue on the row lock, so counters stay exact."""
    value = _validate_vote_value(value)
    require_contributor(user)
    post = lock_post(post_id)
    check_visible_post(user, post)
    if post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot vote on deleted or hidden content.")
    if post.author_id == user.pk:
        raise PermissionDeniedError("You cannot vote on your own post.")
    old = _write_vote(user=user, post_id=post.pk, comment_id=None, new=value)
    du, dd = _vote_deltas(old, value)
    sql = _POST_VOTE_SQL.replace("{hot}", ranking.hot_sql("score + %(du)s - %(dd)s"))
    score, up, down = _run_counter_update(sql, {"du": du, "dd": dd, "id": post.pk})
    result = VoteResult(score=score, upvotes=up, downvotes=down, my_vote=value)
    if old != value:
        _announce_vote(
            "post", post.pk, post.author_id, user, old, result, post_id=post.pk, category_id=post.category_id
        )
    return result


@transaction.atomic
def vote_comment(*, user: User, comment_id: int, value: int) -> VoteResult:
    value = _validate_vote_value(value)
    require_contributor(user)
    comment = lock_comment(comment_id)
    check_visible_comment(user, comment)
    if comment.status != ContentStatus.PUBLISHED or comment.post.status != ContentStatus.PUBLISHED:
        raise ContentGone("You cannot vote on deleted or hidden content.")
    if comment.author_id == user.pk:
        raise PermissionDeniedError("You cannot vote on your own comment.")
    old = _write_vote(user=user, post_id=comment.post_id, comment_id=comment.pk, new=value)
    du, dd = _vote_deltas(old, value)
    score, up, down = _run_counter_update(_COMMENT_VOTE_SQL, {"du": du, "dd": dd, "id": comment.pk})
    result = VoteResult(score=score, upvotes=up, downvotes=down, my_vote=value)
    if old != value:
        _announce_vote(
            "comment",
            comment.pk,
            comment.author_id,
            user,
            old,
            result,
            post_id=comment.post_id,
            category_id=comment.post.category_id,
        )
    return result


def _announce_vote(
    target_type: str,
    target_id: int,
    target_author_id: int,
    voter: User,
    old: int,
    result: VoteResult,
    *,
    post_id: int,
    category_id: int,
) -> None:
    emit(
        VoteChanged(
            target_type=target_type,
            target_id=target_id,
            target_author_id=target_author_id,
            voter_id=voter.pk,
            old_value=old,
            new_value=result.my_vote,
            post_id=post_id,
            category_id=category_id,
        )
    )
    broadcasts.vote_changed(post_id=post_id, target_type=target_type, target_id=target_id, result=result)
