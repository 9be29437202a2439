"""Search-owned tables. The full-text index itself lives on the forum's rows
(`posts.search_vector`, `comments.search_vector`), kept current by triggers created in
`migrations/0002_fulltext.py`; these tables hold what search alone needs."""

from __future__ import annotations

from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.utils import timezone


class SearchLog(models.Model):
    """One row per first-page search, kept for trending searches and pruned by `prune_search_log`
    (age and row cap, see settings.SEARCH_LOG_*). No user id is stored: `searcher` is a salted hash
    used only to count distinct searchers, so one person repeating a query cannot make it trend."""

    query = models.CharField(max_length=100)  # normalised: lowercase, single spaces
    searcher = models.CharField(max_length=16)
    result_count = models.IntegerField(default=0)  # what counts toward trending: 0 if it found non-public rows
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "search_log"
        indexes = [models.Index(fields=["created_at"], name="search_log_created_idx")]

    def __str__(self) -> str:
        return self.query


class SearchTerm(models.Model):
    """The vocabulary of published titles and tags (unstemmed, unaccented, lowercase words) with
    how many posts use each: the dictionary behind "did you mean". Rebuilt by `refresh_vocabulary`."""

    word = models.CharField(max_length=64, primary_key=True)
    ndoc = models.IntegerField(default=0)

    class Meta:
        db_table = "search_terms"
        indexes = [GistIndex(fields=["word"], name="search_terms_trgm_idx", opclasses=["gist_trgm_ops"])]

    def __str__(self) -> str:
        return self.word
