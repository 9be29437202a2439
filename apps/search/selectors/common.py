"""What every search read shares: the request's bounded transaction (statement timeout), query
compilation, the relevance formula's SQL, headline sanitising, and the viewer's content
preferences and profile visibility as SQL conditions."""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction

from apps.accounts.models import User
from apps.core import access
from apps.core.exceptions import ApplicationError
from apps.search.query import ParsedQuery

P = ParamSpec("P")
R = TypeVar("R")
CONFIG = "public.sk_english"
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=35, MinWords=15, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE_OPTIONS = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true"
SNIPPET_SOURCE_CHARS = 5000
TYPES = ("post", "comment", "user")
SORTS = ("relevance", "new", "top")
# A tsquery of plain lexemes that must all match ('a' & 'b' & 'c'): the only shape we relax to OR.
ALL_OF_RE = re.compile(r"'(?:[^']|'')+'(?: & '(?:[^']|'')+')+")


class SearchTooBroad(ApplicationError):
    status, code, message = 400, "bad_request", "This search took too long; add words or filters to narrow it."


@dataclass
class SearchFilters:
    type: str = "post"
    sort: str = "relevance"
    category: str | None = None
    tag: str | None = None
    author: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass
class SearchResult:
    ids: list[int] = field(default_factory=list)  # the ranked page
    items: list[Any] | None = None  # users: the rows themselves (posts/comments: see hydrate())
    total: int = 0
    capped: bool = False
    relaxed: bool = False  # no row had every word; these rows have some of them
    did_you_mean: str | None = None
    type: str = "post"
    categories: list[int] = field(default_factory=list)
    highlight: str = ""
    page_key: str | None = None  # where a rendered page may be cached


# --- helpers -----------------------------------------------------------------------------------


_inside = threading.local()


@contextmanager
def bounded() -> Iterator[None]:
    """The work of one request, in one transaction under the search statement timeout: a query that
    hits it is a 400 (`SearchTooBroad`), never a hang or a 500. The transaction's commit does not
    wait for the WAL flush (it only ever writes the search log). Nested uses join the outer one."""
    if getattr(_inside, "active", False):
        yield
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('synchronous_commit', 'off', true)",
                [str(settings.SEARCH_STATEMENT_TIMEOUT_MS)],
            )
            _inside.active = True
            try:
                yield
            finally:
                _inside.active = False
    except OperationalError as exc:
        if "statement timeout" in str(exc) or "canceling statement" in str(exc):
            raise SearchTooBroad() from None
        raise


def bounded_call(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with bounded():
            return func(*args, **kwargs)

    return wrapper


def run(sql: str, params: dict[str, Any] | list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def compile_query(parsed: ParsedQuery) -> tuple[str, str] | None:
    """(tsquery text, highlight tsquery text), or None when nothing searchable is left (only stop
    words, only operators, only exclusions: a query that would have to scan every row)."""
    return _compile(parsed.websearch, parsed.exact, parsed.highlight)


@functools.lru_cache(maxsize=2048)
def _compile(websearch: str, exact: str, highlight: str) -> tuple[str, str] | None:
    # A pure function of its text (the configuration is fixed by migrations): memoised per process.
    rows = run(
        f"""
        SELECT q::text, querytree(q), hq::text FROM (
          SELECT websearch_to_tsquery('{CONFIG}', %(w)s) && %(x)s::tsquery AS q,
                 websearch_to_tsquery('{CONFIG}', %(h)s) AS hq
        ) s
        """,  # noqa: S608
        {"w": websearch, "x": exact, "h": highlight},
    )
    text, tree, highlighted = rows[0]
    if not text or tree in ("", "T"):
        return None
    return text, highlighted or text


def relevance_sql(alias: str) -> str:
    return (
        f"ts_rank_cd({alias}.search_vector, %(q)s::tsquery, 32) * ("
        f"%(w_text)s + %(w_votes)s * least(1.0, ln(1 + greatest({alias}.score, 0)) / %(votes_den)s)"
        f" + %(w_fresh)s * power(0.5, greatest(extract(epoch FROM now() - {alias}.created_at), 0)"
        f" / 86400.0 / %(half_life)s))"
    )


def formula_params() -> dict[str, Any]:
    return {
        "w_text": settings.SEARCH_WEIGHT_TEXT,
        "w_votes": settings.SEARCH_WEIGHT_VOTES,
        "w_fresh": settings.SEARCH_WEIGHT_FRESH,
        "votes_den": math.log(1 + settings.SEARCH_VOTES_SATURATION),
        "half_life": settings.SEARCH_FRESHNESS_HALF_LIFE_DAYS,
    }


def sanitize_headline(text: str | None) -> str:
    """ts_headline returns source text: escape everything, then turn our private marks into <mark>."""
    if not text:
        return ""
    text = re.sub(r"\s+", " ", text).strip()
    return html.escape(text, quote=False).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def resolve_author(author: str) -> int | None:
    author = author.strip()
    if author.isdigit() and len(author) < 19:
        return int(author)
    return User.objects.filter(username__iexact=author[:30]).values_list("id", flat=True).first()


def preference_sql(prefs: access.ContentPreferences, params: dict[str, Any]) -> list[str]:
    """The viewer's content settings as conditions on a post (alias p): what they chose not to see."""
    conditions = []
    if not prefs.show_nsfw:
        conditions.append("NOT p.is_nsfw")
    if prefs.hidden_tags:
        conditions.append("NOT (p.tag_slugs && %(hidden_tags)s::varchar[])")
        params["hidden_tags"] = list(prefs.hidden_tags)
    return conditions


def user_visibility_sql(viewer) -> str:
    hidden = access.hidden_profile_visibilities(viewer)
    if not hidden:
        return ""
    return " AND pr.visibility NOT IN (" + ", ".join(f"'{v}'" for v in hidden) + ")"
