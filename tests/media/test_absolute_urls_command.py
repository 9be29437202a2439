"""`manage.py media_absolute_urls` gives avatars stored as paths their absolute URL, seen through the API."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _avatar_through_api(client, user) -> str:
    return client.get(f"/api/users/{user.pk}").json()["data"]["avatar_url"]


def test_relative_avatar_urls_become_absolute_and_absolute_ones_stay(client):
    old = UserFactory()
    Profile.objects.filter(user=old).update(avatar_url="/api/media/abc123/thumbnail")
    current = UserFactory()
    Profile.objects.filter(user=current).update(avatar_url="https://cdn.example.com/a.webp")
    assert _avatar_through_api(client, old) == "/api/media/abc123/thumbnail"

    out = io.StringIO()
    call_command("media_absolute_urls", "--base", "https://api.example.com/", stdout=out)

    assert "rewrote 1 avatar URL(s)" in out.getvalue()
    assert _avatar_through_api(client, old) == "https://api.example.com/api/media/abc123/thumbnail"
    assert _avatar_through_api(client, current) == "https://cdn.example.com/a.webp"
    call_command("media_absolute_urls", "--base", "https://api.example.com", stdout=io.StringIO())
    assert _avatar_through_api(client, old) == "https://api.example.com/api/media/abc123/thumbnail"


def test_dry_run_changes_nothing_and_a_missing_origin_is_refused(settings):
    user = UserFactory()
    Profile.objects.filter(user=user).update(avatar_url="/api/media/k/thumbnail")
    out = io.StringIO()
    call_command("media_absolute_urls", "--base", "https://api.example.com", "--dry-run", stdout=out)
    assert "would rewrite 1" in out.getvalue()
    assert Profile.objects.get(user=user).avatar_url == "/api/media/k/thumbnail"
    settings.MEDIA_PUBLIC_BASE_URL = ""
    with pytest.raises(CommandError, match="public origin"):
        call_command("media_absolute_urls", stdout=io.StringIO())
