"""Every read of the search area, one module per seam: full-text search (`fulltext`, with the
relevance formula), suggestions and "did you mean" (`suggestions`), related posts (`related`),
trending (`trends`), and what they share (`common`: the bounded transaction, query compilation).

Callers import from here; code inside the package imports from the submodule that defines a name
(patch it there)."""

from apps.search.selectors.common import SORTS, TYPES, SearchFilters, SearchResult, SearchTooBroad, bounded
from apps.search.selectors.fulltext import hydrate, search, trending_count, visible_ids
from apps.search.selectors.related import related_posts
from apps.search.selectors.suggestions import did_you_mean, suggest
from apps.search.selectors.trends import trending

__all__ = [
    "SORTS",
    "TYPES",
    "SearchFilters",
    "SearchResult",
    "SearchTooBroad",
    "bounded",
    "did_you_mean",
    "hydrate",
    "related_posts",
    "search",
    "suggest",
    "trending",
    "trending_count",
    "visible_ids",
]
