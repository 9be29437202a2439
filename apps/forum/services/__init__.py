"""Every forum write. Keyword-only, typed, atomic; counters move by atomic UPDATEs; side effects
(domain events, realtime broadcasts) leave after commit through apps.core.events / realtime.

One module per seam: `checks` (who may write, tags, categories, mentions), `posts`, `comments`,
`votes`, `drafts`; the database-free content rules live in `apps.forum.content_rules`. Callers
import from this package; patch a function in the module that defines it."""

from apps.forum.content_rules import ContentGone, normalise_tag, post_slug
from apps.forum.services.checks import MAX_MENTIONS, category_for_posting, resolve_tags
from apps.forum.services.comments import (
    _next_comment_id,
    comment_create,
    comment_delete,
    comment_path,
    comment_set_status,
    comment_update,
)
from apps.forum.services.drafts import draft_create, draft_discard, draft_publish, draft_update
from apps.forum.services.posts import post_create, post_delete, post_set_flags, post_set_status, post_update
from apps.forum.services.votes import VoteResult, vote_comment, vote_post

__all__ = [
    "MAX_MENTIONS",
    "ContentGone",
    "VoteResult",
    "_next_comment_id",
    "category_for_posting",
    "comment_create",
    "comment_delete",
    "comment_path",
    "comment_set_status",
    "comment_update",
    "draft_create",
    "draft_discard",
    "draft_publish",
    "draft_update",
    "normalise_tag",
    "post_create",
    "post_delete",
    "post_set_flags",
    "post_set_status",
    "post_slug",
    "post_update",
    "resolve_tags",
    "vote_comment",
    "vote_post",
]
