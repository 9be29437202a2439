"""The histogram trigger stands aside while a rebuild runs (a transaction-local setting), so the
rebuild no longer needs `ALTER TABLE ... DISABLE TRIGGER`, which only the table's owner may run:
the application role under row-level security is not the owner."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION leaderboards_track_score_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A rebuild recounts the histogram once at the end (see services.rebuild_leaderboard_table).
    IF current_setting('app.leaderboard_rebuild', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, leaderboard_score_bucket(points), count(*)
        FROM new_rows WHERE points > 0 GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, bucket, sum(n) FROM (
            SELECT period, period_start, category_id, leaderboard_score_bucket(points) AS bucket, 1 AS n
            FROM new_rows WHERE points > 0
            UNION ALL
            SELECT period, period_start, category_id, leaderboard_score_bucket(points), -1
            FROM old_rows WHERE points > 0
        ) AS changes GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    ELSE
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, leaderboard_score_bucket(points), -count(*)
        FROM old_rows WHERE points > 0 GROUP BY 1, 2, 3, 4;
    END IF;
    RETURN NULL;
END $$;
"""

PREVIOUS = """
CREATE OR REPLACE FUNCTION leaderboards_track_score_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, leaderboard_score_bucket(points), count(*)
        FROM new_rows WHERE points > 0 GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, bucket, sum(n) FROM (
            SELECT period, period_start, category_id, leaderboard_score_bucket(points) AS bucket, 1 AS n
            FROM new_rows WHERE points > 0
            UNION ALL
            SELECT period, period_start, category_id, leaderboard_score_bucket(points), -1
            FROM old_rows WHERE points > 0
        ) AS changes GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    ELSE
        INSERT INTO leaderboard_score_deltas (period, period_start, category_id, bucket, delta)
        SELECT period, period_start, category_id, leaderboard_score_bucket(points), -count(*)
        FROM old_rows WHERE points > 0 GROUP BY 1, 2, 3, 4;
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0002_score_histograms"),
    ]

    operations = [migrations.RunSQL(FUNCTION, PREVIOUS)]
