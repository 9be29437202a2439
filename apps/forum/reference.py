"""The forum's hot reference data, kept per process by apps.core.refcache: the category tree with
its access rules (read by every feed request to decide what the caller may see) and the tag
slug → id map (every `?tag=` feed). Counters on these rows change on every post and are not served
from here: category and tag lists still read the database."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core import refcache
from apps.forum.models import Category, Tag

CATEGORIES = "forum.categories"
TAG_IDS = "forum.tag_ids"


@dataclass(frozen=True)
class CategoryTree:
    """Read-only: these objects are shared by every request of the process."""

    by_id: dict[int, Category]
    by_slug: dict[str, Category]

    def children(self, parent_id: int) -> list[Category]:
        return [c for c in self.by_id.values() if c.parent_id == parent_id]


def _load_categories() -> CategoryTree:
    rows = list(Category.objects.order_by("position", "id"))
    by_id = {c.pk: c for c in rows}
    for c in rows:
        if c.parent_id:
            c.parent = by_id.get(c.parent_id)  # so access checks never query the parent
    return CategoryTree(by_id=by_id, by_slug={c.slug: c for c in rows})


def _load_tag_ids() -> dict[str, int]:
    return dict(Tag.objects.values_list("slug", "id"))


def categories() -> CategoryTree:
    return refcache.get(CATEGORIES)


def tag_id(slug: str) -> int | None:
    """A tag created since the map was loaded is looked up in the database (tags are created by
    bulk inserts that send no signal); deletes and renames send one and reload the map."""
    found = refcache.get(TAG_IDS).get(slug)
    if found is None:
        found = Tag.objects.filter(slug=slug).values_list("id", flat=True).first()
    return found


def register() -> None:
    refcache.register(CATEGORIES, _load_categories, models=[Category])
    refcache.register(TAG_IDS, _load_tag_ids, models=[Tag])
