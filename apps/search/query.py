"""Turning what a person typed into a safe, bounded PostgreSQL tsquery.

The text goes to `websearch_to_tsquery` (quoted phrases, `OR`, `-exclude`; it never raises on
unbalanced quotes or stray operators). Before that, the tokens the English parser would mangle are
taken out and matched exactly against the extra lexemes the index stores for them (see
`migrations/0002_fulltext.py`):
- `$TICKER` (`$SKID`, `-$BONK` to exclude) → the lexeme `'$skid'`;
- base58 addresses (32-44 characters) → the case-exact lexeme or the parser's lowercase form.
Those lexemes contain only `[A-Za-z0-9$]`, so the tsquery text built from them needs no escaping.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings

from apps.core.exceptions import ValidationFailed

TICKER_RE = re.compile(r"(?<![A-Za-z0-9$_])(-?)\$([A-Za-z][A-Za-z0-9]{1,9})(?![A-Za-z0-9_])")
ADDRESS_RE = re.compile(r"(?<![A-Za-z0-9])(-?)([1-9A-HJ-NP-Za-km-z]{32,44})(?![A-Za-z0-9])")
# Control characters (NUL included) and the private-use marks used to delimit highlights.
_STRIP_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ue000\ue001]")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # cleaned query, as shown back to the client
    websearch: str  # what goes to websearch_to_tsquery
    exact: str  # extra tsquery text ANDed with it ('' if none)
    highlight: str  # plain words for ts_headline (tickers without '$')

    @property
    def normalized(self) -> str:
        return self.text.lower()[:100]


def clean(raw: str | None) -> str:
    text = unicodedata.normalize("NFKC", raw or "")
    text = _STRIP_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()


def parse(raw: str | None, *, field: str = "q") -> ParsedQuery:
    """Validate and split a search query. Empty → 400; too long → 400; anything else parses."""
    if raw is not None and len(raw) > settings.SEARCH_MAX_QUERY_LENGTH * 4:
        raise _too_long(field)
    text = clean(raw)
    if not text:
        raise ValidationFailed("Type something to search for.", details={field: ["This field is required."]})
    if len(text) > settings.SEARCH_MAX_QUERY_LENGTH:
        raise _too_long(field)

    exact: list[str] = []
    highlight: list[str] = []

    def take_ticker(m: re.Match) -> str:
        negate, symbol = m.group(1), m.group(2)
        exact.append(f"{'!' if negate else ''}'${symbol.lower()}'")
        if not negate:
            highlight.append(symbol)
        return " "

    def take_address(m: re.Match) -> str:
        negate, address = m.group(1), m.group(2)
        alternatives = {f"'{address}'", f"'{address.lower()}'"}
        term = "(" + " | ".join(sorted(alternatives)) + ")"
        exact.append(f"!{term}" if negate else term)
        if not negate:
            highlight.append(address)
        return " "

    rest = TICKER_RE.sub(take_ticker, text)
    rest = ADDRESS_RE.sub(take_address, rest)
    # Bound the work: at most SEARCH_MAX_TERMS words reach the parser.
    words = rest.split()[: settings.SEARCH_MAX_TERMS]
    exact = exact[: settings.SEARCH_MAX_TERMS]
    websearch = " ".join(words)
    plain = re.sub(r"(?<!\w)-\S+|\bOR\b|[\"()]", " ", websearch)
    return ParsedQuery(
        text=text,
        websearch=websearch,
        exact=" & ".join(exact),
        highlight=" ".join([*plain.split(), *highlight]),
    )


def _too_long(field: str) -> ValidationFailed:
    limit = settings.SEARCH_MAX_QUERY_LENGTH
    return ValidationFailed(
        f"The search is too long (at most {limit} characters).",
        details={field: [f"Ensure this field has no more than {limit} characters."]},
    )


WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Plain words of a cleaned text, lowercase, for suggestions."""
    return [w.lower() for w in WORD_RE.findall(text)][: settings.SEARCH_MAX_TERMS]


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
