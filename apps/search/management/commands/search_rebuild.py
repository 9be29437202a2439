"""Recompute every post and comment search vector (after changing the text search configuration),
then the "did you mean" vocabulary. Batched by id so a large forum never holds one huge lock."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from apps.search import services


class Command(BaseCommand):
    help = "Rebuild search vectors (posts, comments) and the did-you-mean vocabulary."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--vocabulary-only", action="store_true")

    def handle(self, *args, batch: int, vocabulary_only: bool, **options):
        if not vocabulary_only:
            for table, expr in (
                ("posts", "public.sk_post_document(title, tag_slugs, body)"),
                ("comments", "public.sk_comment_document(body)"),
            ):
                done = 0
                last = 0
                while True:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(
                            f"SELECT max(id) FROM (SELECT id FROM {table} WHERE id > %s ORDER BY id LIMIT %s) s",  # noqa: S608
                            [last, batch],
                        )
                        upper = cursor.fetchone()[0]
                        if upper is None:
                            break
                        cursor.execute(
                            f"UPDATE {table} SET search_vector = {expr} WHERE id > %s AND id <= %s",  # noqa: S608
                            [last, upper],
                        )
                        done += cursor.rowcount
                        last = upper
                self.stdout.write(f"{table}: {done} rows reindexed")
        words = services.vocabulary_refresh()
        services.content_changed()
        self.stdout.write(f"vocabulary: {words} words")
