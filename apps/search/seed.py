"""After the demo content exists: build the did-you-mean vocabulary and drop stale cached results
(`manage.py seed --demo`; order 90 runs after every content maker)."""

from __future__ import annotations

from apps.core.seeding import DemoContext
from apps.search import services


def refresh_search_after_demo(context: DemoContext) -> None:
    words = services.vocabulary_refresh()
    services.content_changed()
    context.stdout.write(f"search: vocabulary of {words} words\n")
