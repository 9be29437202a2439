"""Fixture loaders (idempotent upserts by natural key) for `manage.py seed`."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.gamification import catalogue
from apps.gamification.models import Achievement, Activity, Level

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def _read(name: str):
    return json.loads((FIXTURES / name).read_text())


@transaction.atomic
def load_activities() -> int:
    n = 0
    for row in _read("gamification_activities.json"):
        Activity.objects.update_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})
        n += 1
    catalogue.clear()
    return n


@transaction.atomic
def load_levels() -> int:
    rows = _read("gamification_levels.json")["levels"]
    # Thresholds are unique: clear the ones that will move before writing the new curve.
    Level.objects.exclude(number__in=[r["number"] for r in rows]).delete()
    Level.objects.update(min_points=-F("number"))
    for row in rows:
        Level.objects.update_or_create(number=row["number"], defaults={k: v for k, v in row.items() if k != "number"})
    catalogue.clear()
    return len(rows)


@transaction.atomic
def load_achievements() -> int:
    n = 0
    for row in _read("gamification_achievements.json"):
        Achievement.objects.update_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})
        n += 1
    catalogue.clear()
    return n


def load_all() -> int:
    return load_activities() + load_levels() + load_achievements()
