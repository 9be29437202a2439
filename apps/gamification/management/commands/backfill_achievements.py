"""Grant achievements retroactively, e.g. after adding a definition to fixtures/."""

from django.core.management.base import BaseCommand

from apps.gamification import jobs


class Command(BaseCommand):
    help = "Unlock achievements users already meet (all, or --code CODE ...)."

    def add_arguments(self, parser):
        parser.add_argument("--code", action="append", dest="codes", help="Only these achievement codes.")

    def handle(self, *args, codes=None, **options):
        granted = jobs.backfill_achievements(codes=codes)
        self.stdout.write(f"{granted} achievements granted")
