"""Which area holds which personal data: each area contributes its own part of the export and of
account erasure, so a new app plugs in without the privacy app knowing its tables.

An area opts in with a module `apps/<area>/privacy.py` (found at start-up by `autodiscover`), or
by calling `register(...)` itself. The module defines:

    SECTION = "forum"                      # key of its section in the export document
    MODELS = ["forum.Post", ...]           # every model of the area that points at a user
                                           # (a test fails when a model with a user FK is in no list)
    def export(user) -> dict: ...          # the user's own data, JSON-ready, no secrets
    def erase(user) -> dict[str, int]: ... # delete/scrub what is private to the user (own context)
    def detach(user, ghost) -> dict[str, int]: ...  # optional: cross-user/public rows (content
                                           # handed to the ghost account, shared leaderboards)
    ERASE_ORDER = 50                       # optional; lower runs first (accounts runs last)

`erase` must be idempotent: a retried deletion runs every eraser again on an already-scrubbed
account and must change nothing.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps

logger = logging.getLogger(__name__)

Exporter = Callable[[Any], dict]
Eraser = Callable[[Any], dict]
Detacher = Callable[[Any, Any], dict]


@dataclass(frozen=True)
class Area:
    section: str
    export: Exporter
    erase: Eraser
    detach: Detacher | None = None
    models: tuple[str, ...] = ()
    order: int = 50
    description: str = ""


@dataclass
class Registry:
    areas: dict[str, Area] = field(default_factory=dict)

    def register(
        self,
        *,
        section: str,
        export: Exporter,
        erase: Eraser,
        detach: Detacher | None = None,
        models: list[str] | tuple[str, ...] = (),
        order: int = 50,
        description: str = "",
    ) -> Area:
        area = Area(section, export, erase, detach, tuple(models), order, description)
        self.areas[section] = area
        return area

    def ordered(self) -> list[Area]:
        return sorted(self.areas.values(), key=lambda a: (a.order, a.section))

    def sections(self) -> list[str]:
        return sorted(self.areas)


registry = Registry()
register = registry.register


def register_module(module) -> Area:
    return register(
        section=module.SECTION,
        export=module.export,
        erase=module.erase,
        detach=getattr(module, "detach", None),
        models=getattr(module, "MODELS", ()),
        order=getattr(module, "ERASE_ORDER", 50),
        description=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else "",
    )


def autodiscover() -> None:
    """Import `<app>.privacy` of every installed app that has one and register it."""
    for config in django_apps.get_app_configs():
        name = f"{config.name}.privacy"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if hasattr(module, "SECTION") and hasattr(module, "export") and hasattr(module, "erase"):
            register_module(module)
