"""Rebuild leaderboards from the ledger: the `leaderboards` table, then Redis's current sets."""

from django.core.management.base import BaseCommand

from apps.gamification import jobs, redis_store, services


class Command(BaseCommand):
    help = "Recompute leaderboard standings from point_transactions and reload Redis sorted sets."

    def add_arguments(self, parser):
        parser.add_argument("--redis-only", action="store_true", help="Reload Redis from the table only.")

    def handle(self, *args, redis_only=False, **options):
        if not redis_only:
            rows = jobs.rebuild_leaderboard_table()
            self.stdout.write(f"leaderboards table: {rows} standings from the ledger")
        if redis_store.client() is None:
            self.stdout.write("Redis not configured: the database answers alone")
            return
        boards = services.rebuild_redis_leaderboards()
        self.stdout.write(f"redis: {boards} current boards rebuilt")
