"""Send a system announcement to every active user (once per --key):

manage.py notify_announce --key maint-2026-12 --title "Maintenance tonight" --body "20:00 UTC" --link /status
"""

from django.core.management.base import BaseCommand

from apps.core import rls
from apps.notifications.services import announce


class Command(BaseCommand):
    help = "Send a system announcement notification to every active user (idempotent per --key)."

    def add_arguments(self, parser):
        parser.add_argument("--key", required=True, help="Unique key: running twice with it sends once.")
        parser.add_argument("--title", required=True)
        parser.add_argument("--body", default="")
        parser.add_argument("--link", default="")

    def handle(self, *args, key, title, body, link, **options):
        # One row per user: written as the system (as the app role, RLS would refuse other users' rows).
        with rls.system_context("notifications:announce-command"):
            count = announce(title=title, body=body, link=link, key=key)
        self.stdout.write(self.style.SUCCESS(f"announcement {key!r} queued for {count} users"))
