"""The histogram trigger stands aside while a rebuild runs (a transaction-local setting), so the
rebuild no longer needs `ALTER TABLE ... DISABLE TRIGGER`, which only the table's owner may run:
the application role under row-level security is not the owner."""

from importlib import import_module

from django.db import migrations

_functions = import_module("apps.gamification.migrations.0002_score_histograms").FUNCTIONS
_start = _functions.index("CREATE OR REPLACE FUNCTION leaderboards_track_score_counts()")
PREVIOUS = _functions[_start : _functions.index("END $$;", _start) + len("END $$;")]
FUNCTION = PREVIOUS.replace(
    "BEGIN\n",
    "BEGIN\n"
    "    -- A rebuild recounts the histogram once at the end (services.rebuild_leaderboard_table).\n"
    "    IF current_setting('app.leaderboard_rebuild', true) = 'on' THEN\n"
    "        RETURN NULL;\n"
    "    END IF;\n",
    1,
)


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0002_score_histograms"),
    ]

    operations = [migrations.RunSQL(FUNCTION, PREVIOUS)]
