"""Every table that points at a user belongs to some area's privacy module, so a new app that
stores user data cannot be forgotten by export and deletion."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models

from apps.privacy.registry import Registry, autodiscover, registry

# Framework tables that hold no personal data of their own (or are handled by the session and
# permission changes of the accounts eraser).
NOT_PERSONAL = {"admin.LogEntry", "auth.Group", "auth.Permission", "accounts.User"}


def test_every_model_with_a_user_reference_is_covered():
    covered = {label for area in registry.areas.values() for label in area.models}
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    pointing = set()
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for f in model._meta.get_fields():
            if isinstance(f, models.ForeignKey | models.OneToOneField) and f.related_model is user_model:
                pointing.add(model._meta.label)
    missing = pointing - covered - NOT_PERSONAL
    assert not missing, f"models pointing at users with no privacy module: {sorted(missing)}"


def test_areas_are_discovered_from_their_privacy_modules():
    fresh = Registry()
    import apps.privacy.registry as module

    original = module.registry
    module.registry = fresh
    module.register = fresh.register
    try:
        autodiscover()
        assert set(fresh.sections()) == set(original.sections())
    finally:
        module.registry = original
        module.register = original.register
    # Accounts erase last: the other areas still see the account as it was.
    assert registry.ordered()[-1].section == "accounts"
