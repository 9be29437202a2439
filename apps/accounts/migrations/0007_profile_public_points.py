from django.db import migrations, models


class Migration(migrations.Migration):
    """The public standing starts as the full one; `manage.py rebuild_leaderboards` (run once after
    this migration) recomputes it from the ledger under apps.core.access.counts_publicly."""

    dependencies = [
        ("accounts", "0006_user_suspended_by_and_bans_as_standing"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="public_level",
            field=models.PositiveSmallIntegerField(db_default=1, default=1),
        ),
        migrations.AddField(
            model_name="profile",
            name="public_points",
            field=models.BigIntegerField(db_default=0, db_index=True, default=0),
        ),
        migrations.RunSQL(
            "UPDATE profiles SET public_points = points, public_level = level",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
