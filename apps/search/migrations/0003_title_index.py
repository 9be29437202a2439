"""A title-only full-text index for suggestions: small vectors, so a prefix match (`stak:*`) is
cheap to find and to recheck; partial on published posts, the only ones suggested."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0002_fulltext")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS search_posts_title_idx ON posts "
            "USING gin (to_tsvector('public.sk_english'::regconfig, title)) WHERE status = 'published';",
            reverse_sql="DROP INDEX IF EXISTS search_posts_title_idx;",
        )
    ]
