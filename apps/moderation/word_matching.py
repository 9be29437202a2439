"""How watched words match text, and the short in-process cache of their compiled patterns. The
spam controls match with it; the watched-word services clear the cache when the list changes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.cache import caches

from apps.moderation.models import WatchedWord

_CACHE_KEY = "moderation:watched-words:v2"


# Watched words are matched on tokens, without a regular expression over the text: the text is
# split once into word tokens (`\w+` runs, one linear pass), and a watched word is a sequence of
# glob tokens (`*` = any run of word characters) compared with consecutive text tokens. A glob
# token is checked with one left-to-right `str.find` per part, so a hostile pattern such as
# `qz*qz*qz*qz*qz` costs O(parts x token length), never the exponential backtracking a `\w*` regex
# could take. Whole words only; punctuation between the words of a phrase is ignored.
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class WatchedPattern:
    word: str
    tokens: tuple[tuple[str, ...], ...]  # per token, its parts split at "*"

    @classmethod
    def parse(cls, word: str) -> WatchedPattern | None:
        tokens = []
        for raw in word.lower().split():
            # Punctuation inside a watched token separates word tokens, as it does in the text.
            for piece in re.findall(r"[\w*]+", raw):
                parts = tuple(p for p in re.split(r"\*+", piece))
                if any(parts):
                    tokens.append(parts)
        return cls(word, tuple(tokens)) if tokens else None

    def matches(self, words: list[str], index: dict[str, list[int]]) -> bool:
        first = self.tokens[0]
        # A literal first token: jump to where it occurs; a wildcard one: try every position.
        starts = index.get(first[0], ()) if len(first) == 1 else range(len(words))
        n = len(self.tokens)
        return any(i + n <= len(words) and all(_glob(self.tokens[j], words[i + j]) for j in range(n)) for i in starts)


def _glob(parts: tuple[str, ...], word: str) -> bool:
    """Does `word` match the glob whose literal parts (split at `*`) are `parts`?"""
    if len(parts) == 1:
        return word == parts[0]
    head, *middle, tail = parts
    if len(word) < len(head) + len(tail) or not word.startswith(head) or not word.endswith(tail):
        return False
    pos, end = len(head), len(word) - len(tail)
    for part in middle:  # leftmost placement of each part is always the best one
        if not part:
            continue
        found = word.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def watched_patterns() -> dict[str, list[WatchedPattern]]:
    """{action: [pattern]}, cached in-process briefly (invalidated on change)."""
    cache = caches["local"]
    compiled = cache.get(_CACHE_KEY)
    if compiled is None:
        compiled = {}
        for word, action in WatchedWord.objects.values_list("word", "action"):
            pattern = WatchedPattern.parse(word)
            if pattern is not None:
                compiled.setdefault(action, []).append(pattern)
        cache.set(_CACHE_KEY, compiled, 60)
    return compiled


def invalidate_watched_words() -> None:
    caches["local"].delete(_CACHE_KEY)


def tokens_and_index(text: str) -> tuple[list[str], dict[str, list[int]]]:
    """The text's word tokens (lower-cased, one linear pass) and where each token occurs."""
    words = _TOKEN.findall(text.lower())
    index: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        index.setdefault(word, []).append(i)
    return words, index
