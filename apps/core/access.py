"""Who may read what: the one answer for every path that carries content or activity.

A viewer reduces to a *viewer class* (anonymous, member of a holder tier, moderator, admin); a
category reduces to a *rule* (lowest role and lowest holder tier that may read it, its parent's
rule folded in). Whether a class passes a rule is pure arithmetic, so the same verdict serves an
HTTP request, a query filter (`readable_category_ids`) and a WebSocket event, which is checked
once per viewer class rather than once per socket.

- Roles rank anonymous < user < moderator < admin; `read_access` names the lowest role that reads.
- Holder tiers rank by position in settings.HOLDER_TIERS; `read_min_tier` names the lowest tier.
  Moderators and admins are not held back by tiers: they moderate those categories.
- A subcategory also obeys its parent's rules (a public child of a staff-only parent is staff-only).
- Archived categories stay readable (they are closed to new posts only).
- An unknown access or tier value (refused on save, but possibly written by a raw UPDATE) reads as
  closed: admins only for an unknown role, staff only for an unknown tier. Never open.
- Posts and comments: published content and placeholders are visible to whoever reads the
  category; pending and hidden content only to its author and to moderators.
- A user's activity (profile, points, achievements) follows the profile's visibility setting.
- A user's public standing (the global leaderboard, the points and level of the public user shape)
  counts only points earned in *public* categories (those an anonymous visitor reads) or tied to
  no category: the same number for every viewer, so it never shows activity in a category the
  viewer may not read. Points in other categories count on that category's own board.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

ANONYMOUS, USER, MODERATOR, ADMIN = -1, 0, 1, 2
ROLE_RANKS = {"anyone": ANONYMOUS, "user": USER, "moderator": MODERATOR, "admin": ADMIN}
CLOSED_TIER = 1_000  # above every tier: nobody below moderator passes

# Status values of forum content (kept here as strings so this module imports no app's models).
_VISIBLE_STATUSES = frozenset({"published", "deleted", "removed"})


# --- tiers ----------------------------------------------------------------------------------------


def tier_names() -> list[str]:
    return [str(name) for name, _minimum in settings.HOLDER_TIERS]


def tier_choices() -> list[tuple[str, str]]:
    """Model/admin choices for every holder-tier field (a callable: migrations do not freeze it)."""
    return [(name, name.capitalize()) for name in tier_names()]


def tier_rank(name: str | None, *, unknown: int = CLOSED_TIER) -> int:
    """Position of `name` in HOLDER_TIERS. An empty value is the lowest tier; an unknown name ranks
    `unknown` (closed by default: a typo in a category's minimum never opens it)."""
    if not name:
        return 0
    names = tier_names()
    return names.index(name) if name in names else unknown


def validate_tier(value: str) -> None:
    from django.core.exceptions import ValidationError

    if value not in tier_names():
        raise ValidationError(f"Unknown holder tier {value!r}; one of: {', '.join(tier_names())}.", code="invalid")


# --- viewers --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewerClass:
    """What access depends on for a viewer. Staff classes carry no tier (tiers do not bind them),
    so the number of distinct classes is (number of tiers) + 3."""

    role: int
    tier: int = 0

    @property
    def key(self) -> str:
        return f"{self.role}:{self.tier}"


ANONYMOUS_CLASS = ViewerClass(ANONYMOUS)


def _authed(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def role_rank(user) -> int:
    if not _authed(user):
        return ANONYMOUS
    if getattr(user, "is_superuser", False):
        return ADMIN
    return ROLE_RANKS.get(getattr(user, "role", "user"), USER)


def holder_tier_of(user) -> str:
    if not _authed(user):
        return ""
    try:
        profile = user.profile
    except Exception:  # no profile row (yet): the lowest tier
        return ""
    return getattr(profile, "holder_tier", "") or ""


def viewer_class(user) -> ViewerClass:
    role = role_rank(user)
    if role >= MODERATOR:
        return ViewerClass(role)
    if role == ANONYMOUS:
        return ANONYMOUS_CLASS
    # The viewer's own tier: an unknown name counts as the lowest (it grants nothing).
    return ViewerClass(role, tier_rank(holder_tier_of(user), unknown=0))


def is_moderator(user) -> bool:
    from apps.accounts.access import user_can

    return _authed(user) and user_can(user, "content.moderate")


# --- categories -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """Lowest role and lowest tier that may read; `admits` is the one comparison."""

    role: int = ANONYMOUS
    tier: int = 0

    def admits(self, viewer: ViewerClass) -> bool:
        if viewer.role < self.role:
            return False
        return viewer.role >= MODERATOR or viewer.tier >= self.tier

    def join(self, other: Rule) -> Rule:
        return Rule(max(self.role, other.role), max(self.tier, other.tier))

    def wire(self) -> list[int]:
        return [self.role, self.tier]

    @classmethod
    def from_wire(cls, value: Any) -> Rule:
        """A rule sent with a realtime event. Malformed means admins only (closed, never open)."""
        try:
            role, tier = value
            return cls(int(role), int(tier))
        except (TypeError, ValueError):
            return cls(ADMIN, CLOSED_TIER)


OPEN = Rule()


def _own_rule(category) -> Rule:
    role = ROLE_RANKS.get(category.read_access, ADMIN)  # unknown access: admins only
    return Rule(role, tier_rank(category.read_min_tier))


def category_rule(category, parent=None) -> Rule:
    """The rule of `category`, its parent's folded in (subcategories are one level deep)."""
    rule = _own_rule(category)
    if category.parent_id:
        parent = parent or _parent_of(category)
        rule = rule.join(_own_rule(parent)) if parent is not None else Rule(ADMIN, CLOSED_TIER)
    return rule


def _parent_of(category):
    from apps.forum import reference

    parent = reference.categories().by_id.get(category.parent_id)
    return parent if parent is not None else category.parent


def can_read_category(user, category, parent=None) -> bool:
    return category_rule(category, parent).admits(viewer_class(user))


def readable_among(user, categories: Iterable, by_id: Mapping[int, Any]) -> set[int]:
    """Ids of those of `categories` (rows as read now; parents looked up in `by_id`) that `user`
    may read: `can_read_category` for each, the viewer's class and each distinct rule worked out
    once."""
    viewer = viewer_class(user)
    verdicts: dict[tuple, bool] = {}
    readable = set()
    for category in categories:
        parent = by_id.get(category.parent_id) if category.parent_id else None
        key = (
            category.read_access,
            category.read_min_tier,
            (parent.read_access, parent.read_min_tier) if parent is not None else category.parent_id,
        )
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = category_rule(category, parent).admits(viewer)
        if verdict:
            readable.add(category.pk)
    return readable


def _tree():
    from apps.forum import reference

    return reference.categories()  # per-process cache of the category table: no query


_ids_cache: tuple[Any, dict[ViewerClass, frozenset[int]]] = (None, {})


def readable_category_ids(user) -> frozenset[int]:
    """Ids of every category `user` may read, computed once per viewer class and category-table
    version (the categories table is small and cached per process)."""
    global _ids_cache
    tree = _tree()
    cached_tree, by_class = _ids_cache
    if cached_tree is not tree:
        by_class = {}
        _ids_cache = (tree, by_class)
    viewer = viewer_class(user)
    ids = by_class.get(viewer)
    if ids is None:
        ids = by_class[viewer] = frozenset(
            c.pk for c in tree.by_id.values() if category_rule(c, tree.by_id.get(c.parent_id)).admits(viewer)
        )
    return ids


def is_public(category, parent=None) -> bool:
    """Whether everyone (an anonymous visitor) may read `category`."""
    return category_rule(category, parent).admits(ANONYMOUS_CLASS)


def public_category_ids() -> frozenset[int]:
    """Categories everyone may read: what an anonymous visitor reads."""
    return readable_category_ids(None)


def counts_publicly(category_id: int | None) -> bool:
    """Whether points earned in `category_id` count on a user's public standing (None: points tied
    to no category). An unknown category counts as closed."""
    return category_id is None or category_id in public_category_ids()


def category_audience(category_id: int) -> list[int]:
    """The rule a realtime event about a category's activity carries (unknown: admins only)."""
    tree = _tree()
    category = tree.by_id.get(category_id)
    if category is None:
        return Rule(ADMIN, CLOSED_TIER).wire()
    return category_rule(category, tree.by_id.get(category.parent_id)).wire()


def unreadable_category_ids(user) -> list[int]:
    """The complement (usually empty): feeds exclude these, which keeps the feed query on its
    ranking index instead of an IN list."""
    readable = readable_category_ids(user)
    return sorted(pk for pk in _tree().by_id if pk not in readable)


def readable_filter(user, field: str = "category_id") -> Q:
    """A queryset filter: rows whose `field` names a category `user` may read."""
    hidden = unreadable_category_ids(user)
    return ~Q(**{f"{field}__in": hidden}) if hidden else Q()


def visibility_key(user) -> str:
    """Two callers who may read the same categories share cached results (and a change of a
    category's rules moves everyone to new keys)."""
    ids = ",".join(map(str, sorted(readable_category_ids(user))))
    return hashlib.sha1(ids.encode(), usedforsecurity=False).hexdigest()[:16]


# --- posting --------------------------------------------------------------------------------------


def can_post_in_category(user, category) -> bool:
    from apps.accounts.access import user_can

    if not user_can(user, "content.create") or not can_read_category(user, category):
        return False
    role = role_rank(user)
    if role >= MODERATOR:
        return True
    if category.is_archived:
        return False
    if role < ROLE_RANKS.get(category.post_access or "user", ADMIN):
        return False
    return viewer_class(user).tier >= tier_rank(category.post_min_tier)


def can_comment_in_category(user, category) -> bool:
    if role_rank(user) >= MODERATOR:
        return True
    return viewer_class(user).tier >= tier_rank(category.post_min_tier)


# --- posts, comments ------------------------------------------------------------------------------


def can_see_content(user, *, status: str, author_id: int | None) -> bool:
    """Published content and placeholders are visible; pending/hidden only to author and moderators."""
    if status in _VISIBLE_STATUSES:
        return True
    if _authed(user) and user.pk == author_id:
        return True
    return is_moderator(user)


def readable_posts_filter(user, prefix: str = "") -> Q:
    """A queryset filter on posts (or rows pointing at one, through `prefix`, e.g. "post__"): in a
    readable category, and published or a placeholder unless the viewer wrote it or moderates."""
    q = readable_filter(user, f"{prefix}category_id")
    if not is_moderator(user):
        visible = Q(**{f"{prefix}status__in": sorted(_VISIBLE_STATUSES)})
        if _authed(user):
            visible |= Q(**{f"{prefix}author_id": user.pk})
        q &= visible
    return q


def can_read_post(user, post) -> bool:
    category = post.category
    return can_read_category(user, category) and can_see_content(user, status=post.status, author_id=post.author_id)


def can_read_comment(user, comment) -> bool:
    return can_read_post(user, comment.post) and can_see_content(
        user, status=comment.status, author_id=comment.author_id
    )


# --- users ----------------------------------------------------------------------------------------


def can_see_user(viewer, user) -> bool:
    """Whether `viewer` may see `user`'s profile and activity (points, achievements, reports)."""
    from apps.accounts.access import user_can
    from apps.accounts.models import ProfileVisibility

    if _authed(viewer) and (viewer.pk == user.pk or user_can(viewer, "users.view_private")):
        return True
    if not user.is_active:
        return False
    try:
        visibility = user.profile.visibility
    except Exception:
        return False
    if visibility == ProfileVisibility.EVERYONE:
        return True
    if visibility == ProfileVisibility.MEMBERS:
        return _authed(viewer)
    return is_moderator(viewer)  # "nobody": the owner, and staff who moderate the account


def hidden_profile_visibilities(viewer) -> list[str]:
    """The profile visibility values whose users `viewer` may not see (for list queries)."""
    from apps.accounts.models import ProfileVisibility

    if is_moderator(viewer):
        return []
    if _authed(viewer):
        return [ProfileVisibility.NOBODY]
    return [ProfileVisibility.NOBODY, ProfileVisibility.MEMBERS]


# --- what the viewer chose not to see -------------------------------------------------------------


@dataclass(frozen=True)
class ContentPreferences:
    """The owner's content settings (profile.settings["content"]): on top of access, never instead
    of it. Anonymous visitors get the defaults (no NSFW)."""

    show_nsfw: bool = False
    hidden_category_ids: tuple[int, ...] = ()
    hidden_tags: tuple[str, ...] = ()

    def post_filter(self, *, asked_category: bool = False, prefix: str = "") -> Q:
        """Posts to keep. A category the viewer asked for by name is shown even if they hid it."""
        q = Q()
        if not self.show_nsfw:
            q &= Q(**{f"{prefix}is_nsfw": False})
        if self.hidden_category_ids and not asked_category:
            q &= ~Q(**{f"{prefix}category_id__in": self.hidden_category_ids})
        if self.hidden_tags:
            q &= ~Q(**{f"{prefix}tag_slugs__overlap": list(self.hidden_tags)})
        return q

    def key(self) -> str:
        return f"{int(self.show_nsfw)}:{','.join(map(str, self.hidden_category_ids))}:{','.join(self.hidden_tags)}"


def content_preferences(user) -> ContentPreferences:
    if not _authed(user):
        return ContentPreferences()
    try:
        content = (user.profile.settings or {}).get("content") or {}
    except Exception:
        return ContentPreferences()
    slugs = set(content.get("hidden_categories") or ())
    by_slug = _tree().by_slug if slugs else {}
    return ContentPreferences(
        show_nsfw=bool(content.get("show_nsfw", False)),
        hidden_category_ids=tuple(sorted(by_slug[s].pk for s in slugs if s in by_slug)),
        hidden_tags=tuple(sorted(str(t) for t in content.get("hidden_tags") or ())),
    )


# --- realtime -------------------------------------------------------------------------------------


def _content_rule(category, *statuses: str) -> Rule:
    rule = category_rule(category)
    if any(status not in _VISIBLE_STATUSES for status in statuses):
        rule = rule.join(Rule(MODERATOR))  # pending/hidden: staff (the author reads it over HTTP)
    return rule


def post_audience(post) -> list[int]:
    """The rule a realtime event about `post` carries; the hub checks it once per viewer class."""
    return _content_rule(post.category, post.status).wire()


def comment_audience(comment) -> list[int]:
    return _content_rule(comment.post.category, comment.post.status, comment.status).wire()
