from django.db import migrations


class Migration(migrations.Migration):
    """The shared cache without Redis (rate limits, cached price...) lives in this table. Created by
    a migration so every deployment has it, whatever its cache settings were when it migrated;
    the same schema `manage.py createcachetable` makes, which then finds it and does nothing."""

    dependencies = [("core", "0001_extensions")]

    operations = [
        migrations.RunSQL(
            sql=[
                'CREATE TABLE IF NOT EXISTS "core_cache" ("cache_key" varchar(255) NOT NULL PRIMARY KEY, '
                '"value" text NOT NULL, "expires" timestamp with time zone NOT NULL)',
                'CREATE INDEX IF NOT EXISTS "core_cache_expires" ON "core_cache" ("expires")',
            ],
            reverse_sql=['DROP TABLE IF EXISTS "core_cache"'],
        )
    ]
