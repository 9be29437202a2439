"""Stored avatar URLs made absolute: profiles written before every media URL was absolute keep a
path (`/api/media/...`) that an <img> on the SPA's origin resolves against the wrong host."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Value
from django.db.models.functions import Concat

from apps.accounts.models import Profile


class Command(BaseCommand):
    help = "Rewrite relative avatar URLs as absolute ones on MEDIA_PUBLIC_BASE_URL (or --base)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base", default="", help="public origin, e.g. https://api.example.com")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, base: str, dry_run: bool, **options) -> None:
        base = (base or settings.MEDIA_PUBLIC_BASE_URL).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise CommandError("Give the API's public origin: --base https://api.example.com or MEDIA_PUBLIC_BASE_URL.")
        relative = Profile.objects.filter(avatar_url__startswith="/").exclude(avatar_url__startswith="//")
        count = relative.count() if dry_run else relative.update(avatar_url=Concat(Value(base), "avatar_url"))
        verb = "would rewrite" if dry_run else "rewrote"
        self.stdout.write(f"{verb} {count} avatar URL(s) on {base}")
