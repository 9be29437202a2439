"""`manage.py seed`: milestones from fixtures/market_milestones.json (idempotent)."""

from __future__ import annotations

import json

from django.conf import settings

from apps.market.services import load_milestones

MILESTONES_FIXTURE = settings.BASE_DIR / "fixtures" / "market_milestones.json"


def load_milestone_fixture() -> int:
    with open(MILESTONES_FIXTURE, encoding="utf-8") as fh:
        return load_milestones(json.load(fh))
