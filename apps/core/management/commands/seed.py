from django.core.management.base import BaseCommand
from tqdm import tqdm

from apps.core import rls, seeding


class Command(BaseCommand):
    help = "Load the reference data in fixtures/ (idempotent); with --demo, add realistic demo content."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="also create demo users and content")
        parser.add_argument(
            "--size", type=int, default=50, help="scale of the demo data (users; content scales with it)"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, demo=False, size=50, no_progress=False, **options):
        for name, loader in seeding.fixture_loaders():
            # Reference and demo data belong to no signed-in user: the audited RLS system context.
            with rls.system_context("seed"):
                count = loader()
            self.stdout.write(f"seed {name}: {count} rows")
        if not demo:
            return
        if size < 1:
            self.stderr.write("--size must be at least 1")
            return

        def progress(iterable=None, **kwargs):
            return tqdm(iterable, disable=no_progress, file=self.stderr, **kwargs)

        ctx = seeding.DemoContext(size=size, progress=progress, stdout=self.stdout)
        for name, maker in seeding.demo_makers():
            with rls.system_context("seed"):
                maker(ctx)
            self.stdout.write(f"demo {name}: done")
