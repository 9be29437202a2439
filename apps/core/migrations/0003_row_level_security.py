from django.db import migrations

from apps.core import rls

# The tables this migration puts under row-level security (apps/core/rls.py PRIVATE_TABLES says
# why). A table added to that list later gets its own migration calling `rls.policy_sql`.
TABLES = [
    "notifications",
    "notification_settings",
    "subscriptions",
    "sessions",
    "drafts",
    "activity_log",
    "wallet_connections",
    "token_balances",
    "token_balance_history",
    "transactions",
    "wallet_siws_challenges",
    "market_price_alerts",
    "market_price_alert_triggers",
    "account_emailaddress",
    "socialaccount_socialtoken",
    "point_transactions",
    "user_achievements",
]


def _statements(builder):
    by_name = {t.name: t for t in rls.PRIVATE_TABLES}
    return [sql for name in TABLES for sql in builder(by_name[name])]


class Migration(migrations.Migration):
    """Row-level security on every user-private table: FORCE ROW LEVEL SECURITY (the table owner is
    held to it too) and policies on the transaction-local `app.user_id` / `app.system` settings."""

    dependencies = [
        ("core", "0002_cache_table"),
        ("accounts", "0003_profile_show_holdings"),
        ("forum", "0003_comments_tree_covering_index"),
        ("gamification", "0001_initial"),
        ("market", "0001_initial"),
        ("notifications", "0001_initial"),
        ("wallet", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
    ]

    operations = [
        migrations.RunSQL(sql=_statements(rls.policy_sql), reverse_sql=_statements(rls.unpolicy_sql)),
    ]
